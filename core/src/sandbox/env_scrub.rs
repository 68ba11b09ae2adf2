//! Which environment variables a command does not get: the server's own API key
//! and the user's tokens would otherwise be one `env` away from the model (and from
//! any build script). The list is documented in docs/security.md; keep them equal.

use std::ffi::{OsStr, OsString};

/// Names that are secret whatever their shape.
pub const SECRET_ENV_NAMES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "PGPASSWORD",
    "MYSQL_PWD",
    "NETRC",
];

/// `_`-separated words that mark a name as secret wherever they appear
/// (`GITHUB_TOKEN`, `AZURE_CLIENT_SECRET`, `DB_PASSWORD_FILE`). Whole words only:
/// `TOKENIZERS_PARALLELISM` stays.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PRIVATE",
];

/// Whether a variable looks like it holds a secret: its name (see
/// [`SECRET_ENV_NAMES`], the words above, or a last word `KEY` as in
/// `OPENAI_API_KEY`), or its value (a URL with a password in it, as in
/// `DATABASE_URL=postgres://user:pw@host/db`).
pub fn is_secret_env(name: &OsStr, value: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    if SECRET_ENV_NAMES.contains(&name.as_str()) {
        return true;
    }
    let words: Vec<&str> = name.split('_').filter(|word| !word.is_empty()).collect();
    if words.iter().any(|word| SECRET_WORDS.contains(word)) {
        return true;
    }
    if words.len() > 1 && words.last() == Some(&"KEY") {
        return true;
    }
    url_with_password(&value.to_string_lossy())
}

/// `scheme://user:password@…`.
fn url_with_password(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    scheme_ok
        && authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// The environment a command gets: `base` without the secret-looking variables,
/// except those named in `pass` (exact names); `extra_secret` names are removed
/// even when they look harmless (the provider's `api_key_env`).
pub(crate) fn scrub_env(
    base: impl IntoIterator<Item = (OsString, OsString)>,
    pass: &[String],
    extra_secret: &[String],
) -> Vec<(OsString, OsString)> {
    base.into_iter()
        .filter(|(name, value)| {
            let passed = pass.iter().any(|allowed| OsStr::new(allowed) == name);
            let extra = extra_secret
                .iter()
                .any(|secret| OsStr::new(secret) == name);
            let keep = passed || (!extra && !is_secret_env(name, value));
            if !keep {
                tracing::debug!(name = %name.to_string_lossy(), "not passing a secret-looking variable to the command");
            }
            keep
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, value: &str) -> bool {
        is_secret_env(OsStr::new(name), OsStr::new(value))
    }

    #[test]
    fn sandbox_env_secret_names() {
        for name in [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "CARGO_REGISTRY_TOKEN",
            "NPM_TOKEN",
            "HF_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AZURE_CLIENT_SECRET",
            "STRIPE_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SSH_PRIVATE_KEY",
            "PGPASSWORD",
            "my_api_key",
        ] {
            assert!(secret(name, "x"), "{name} should be scrubbed");
        }
        for name in [
            "PATH",
            "HOME",
            "PWD",
            "TERM",
            "TOKENIZERS_PARALLELISM",
            "SSH_AUTH_SOCK",
            "AWS_REGION",
            "KEY",
            "CARGO_HOME",
            "RUST_LOG",
        ] {
            assert!(!secret(name, "x"), "{name} should be passed");
        }
    }

    #[test]
    fn sandbox_env_urls_with_passwords_are_secret() {
        assert!(secret("DATABASE_URL", "postgres://app:hunter2@db:5432/app"));
        assert!(secret("HTTPS_PROXY", "http://me:pw@proxy:3128"));
        assert!(!secret("HTTPS_PROXY", "http://proxy:3128"));
        assert!(!secret("HOMEPAGE", "https://example.invalid/a@b:c"));
    }

    #[test]
    fn sandbox_env_pass_list_wins_and_extra_secrets_go() {
        let base = [
            ("PATH", "/bin"),
            ("GITHUB_TOKEN", "t"),
            ("OPENAI_API_KEY", "k"),
            ("MY_LLM", "k2"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let kept = scrub_env(base, &["GITHUB_TOKEN".into()], &["MY_LLM".into()]);
        let names: Vec<_> = kept.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(names, ["PATH", "GITHUB_TOKEN"]);
    }
}
