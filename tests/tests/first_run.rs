//! The first five minutes (issue 17): which provider agentls picks and why, in
//! order (configuration, OPENAI_API_KEY, ANTHROPIC_API_KEY, a local server, else
//! a message that says what to set); what `agentls exec` and the editor say when
//! nothing is configured; `agentls doctor`'s report and exit status. Local
//! servers are stood in for by small HTTP servers on 127.0.0.1 that answer the
//! model-list requests Ollama and llama.cpp's server answer.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use agentls_core::config::{ProviderConfig, ProviderKind};
use agentls_core::provider::discovery::{self, Reason};
use agentls_core::provider::NO_PROVIDER;
use agentls_tests::client::{agentls_binary, TestClient, TestEnv};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A local model server: answers `GET <path>` with the JSON body given, 404
/// otherwise; counts the requests it saw.
struct LocalServer {
    base_url: String,
    requests: Arc<AtomicUsize>,
}

impl LocalServer {
    async fn start(routes: &[(&str, Value)]) -> LocalServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<HashMap<String, String>> = Arc::new(
            routes
                .iter()
                .map(|(path, body)| (path.to_string(), body.to_string()))
                .collect(),
        );
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let routes = routes.clone();
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if socket.read_exact(&mut byte).await.is_err() {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let (status, body) = match routes.get(&path) {
                        Some(body) => ("200 OK", body.clone()),
                        None => ("404 Not Found", "{\"error\":\"not found\"}".to_string()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        LocalServer {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            requests,
        }
    }

    /// Like llama.cpp's server or LM Studio: the OpenAI model list.
    async fn openai_compatible(models: &[&str]) -> LocalServer {
        let data: Vec<Value> = models
            .iter()
            .map(|id| json!({"id": id, "object": "model"}))
            .collect();
        LocalServer::start(&[("/v1/models", json!({"object": "list", "data": data}))]).await
    }

    /// An Ollama that lists its models only at `/api/tags`.
    async fn ollama_tags_only(models: &[&str]) -> LocalServer {
        let tags: Vec<Value> = models.iter().map(|name| json!({"name": name})).collect();
        LocalServer::start(&[("/api/tags", json!({"models": tags}))]).await
    }

    fn seen(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// An address nothing listens on.
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> + Sync {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    }
}

fn locals(servers: &[(&str, &str)]) -> String {
    servers
        .iter()
        .map(|(name, url)| format!("{name}={url}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn the_configuration_wins_and_nothing_local_is_probed() {
    let local = LocalServer::openai_compatible(&["qwen"]).await;
    let config = ProviderConfig {
        kind: Some(ProviderKind::Anthropic),
        ..ProviderConfig::default()
    };
    let env = env_of(vec![
        ("ANTHROPIC_API_KEY", "sk-ant".into()),
        ("OPENAI_API_KEY", "sk-openai".into()),
        (
            discovery::LOCAL_SERVERS_ENV,
            locals(&[("Ollama", &local.base_url)]),
        ),
    ]);
    let chosen = discovery::discover(&config, &env).await.unwrap();
    assert_eq!(chosen.settings.kind, ProviderKind::Anthropic);
    assert_eq!(chosen.reason, Reason::Configured);
    assert_eq!(local.seen(), 0);
}

#[tokio::test]
async fn an_openai_key_comes_before_an_anthropic_key_and_both_before_local_servers() {
    let local = LocalServer::openai_compatible(&["qwen"]).await;
    let probe = (
        discovery::LOCAL_SERVERS_ENV,
        locals(&[("Ollama", &local.base_url)]),
    );
    let both = env_of(vec![
        ("OPENAI_API_KEY", "sk-openai".into()),
        ("ANTHROPIC_API_KEY", "sk-ant".into()),
        probe.clone(),
    ]);
    let chosen = discovery::discover(&ProviderConfig::default(), &both)
        .await
        .unwrap();
    assert_eq!(chosen.settings.kind, ProviderKind::OpenaiResponses);
    assert_eq!(chosen.reason, Reason::ApiKey("OPENAI_API_KEY"));
    assert_eq!(chosen.reason.to_string(), "OPENAI_API_KEY is set");

    let anthropic = env_of(vec![("ANTHROPIC_API_KEY", "sk-ant".into()), probe]);
    let chosen = discovery::discover(&ProviderConfig::default(), &anthropic)
        .await
        .unwrap();
    assert_eq!(chosen.settings.kind, ProviderKind::Anthropic);
    assert_eq!(chosen.reason, Reason::ApiKey("ANTHROPIC_API_KEY"));
    assert_eq!(
        local.seen(),
        0,
        "no local server is probed when a key is set"
    );
}

#[tokio::test]
async fn without_keys_the_first_local_server_that_answers_is_used_with_its_first_model() {
    let llama = LocalServer::openai_compatible(&["qwen2.5-coder-7b", "llama-3"]).await;
    let dead = closed_url();
    let env = env_of(vec![(
        discovery::LOCAL_SERVERS_ENV,
        locals(&[("Ollama", &dead), ("llama.cpp", &llama.base_url)]),
    )]);
    let chosen = discovery::discover(&ProviderConfig::default(), &env)
        .await
        .unwrap();
    assert_eq!(chosen.settings.kind, ProviderKind::OpenaiChat);
    assert_eq!(chosen.settings.base_url, llama.base_url);
    assert_eq!(chosen.settings.model, "qwen2.5-coder-7b");
    assert_eq!(
        chosen.describe(),
        format!(
            "openai-chat, model qwen2.5-coder-7b at {url} (no API key is set and llama.cpp answers at {url})",
            url = llama.base_url
        )
    );

    // A model named in the configuration is kept.
    let config = ProviderConfig {
        model: Some("llama-3".into()),
        ..ProviderConfig::default()
    };
    let chosen = discovery::discover(&config, &env).await.unwrap();
    assert_eq!(chosen.settings.model, "llama-3");
}

#[tokio::test]
async fn an_ollama_that_lists_models_only_at_api_tags_is_found_too() {
    let ollama = LocalServer::ollama_tags_only(&["codellama:7b"]).await;
    let env = env_of(vec![(
        discovery::LOCAL_SERVERS_ENV,
        locals(&[("Ollama", &ollama.base_url)]),
    )]);
    let chosen = discovery::discover(&ProviderConfig::default(), &env)
        .await
        .unwrap();
    assert_eq!(chosen.settings.model, "codellama:7b");
    assert!(matches!(chosen.reason, Reason::LocalServer(ref server) if server.name == "Ollama"));
}

#[tokio::test]
async fn with_nothing_configured_or_running_the_message_says_what_to_set() {
    // One address refuses; the other accepts the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/v1", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let env = env_of(vec![
        ("OPENAI_API_KEY", "  ".into()),
        (
            discovery::LOCAL_SERVERS_ENV,
            locals(&[("Ollama", &closed_url()), ("llama.cpp", &silent_url)]),
        ),
    ]);
    let error = discovery::discover(&ProviderConfig::default(), &env)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{NO_PROVIDER}; OPENAI_API_KEY is set but empty")
    );
    held.abort();
}

/// `agentls` run as a user on a fresh machine would: a clean environment, a
/// home of its own, and local servers looked for where the test says.
fn fresh_command(home: &Path, local_servers: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(agentls_binary());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env(discovery::LOCAL_SERVERS_ENV, local_servers)
        .stdin(Stdio::null());
    command
}

#[test]
fn exec_with_nothing_configured_says_what_to_set_once_and_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let output = fresh_command(
        home.path(),
        &locals(&[("Ollama", &closed_url())]),
        &["exec", "-C", workspace.path().to_str().unwrap(), "say hi"],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("error: agentls exec: {NO_PROVIDER}"),
        "stderr: {stderr}"
    );
    // Nothing said twice: logs went to the log file, not the terminal.
    assert_eq!(stderr, "", "stdout: {stdout}");
}

#[test]
fn exec_names_the_provider_it_found_and_why() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let local = runtime.block_on(LocalServer::openai_compatible(&["tiny"]));
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    // The local server lists models but has no chat endpoint: the turn fails
    // (404 is not retried), after the provider line.
    let output = fresh_command(
        home.path(),
        &locals(&[("llama.cpp", &local.base_url)]),
        &["exec", "-C", workspace.path().to_str().unwrap(), "say hi"],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "provider: openai-chat, model tiny at {url} (no API key is set and llama.cpp answers at {url})",
            url = local.base_url
        )),
        "{stdout}"
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[tokio::test]
async fn the_editor_hears_that_no_provider_is_configured_before_any_task() {
    let root = tempfile::tempdir().unwrap();
    let env = TestEnv::new().var(
        discovery::LOCAL_SERVERS_ENV,
        locals(&[("Ollama", &closed_url())]),
    );
    let mut client = TestClient::in_process_with_env(env);
    client
        .request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": format!("file://{}", root.path().display()),
                "capabilities": {}
            }),
        )
        .await;
    client.notify("initialized", json!({})).await;
    let shown = client.recv_method("window/showMessage").await;
    assert_eq!(
        shown["params"]["message"],
        format!("agentls: {NO_PROVIDER}")
    );
    assert_eq!(shown["params"]["type"], 2, "a warning");
}

#[test]
fn doctor_without_a_provider_says_what_to_set_and_exits_1() {
    let home = tempfile::tempdir().unwrap();
    let output = fresh_command(
        home.path(),
        &locals(&[("Ollama", &closed_url())]),
        &["doctor", "-C", home.path().to_str().unwrap()],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("  !! {NO_PROVIDER}")), "{stdout}");
    assert!(stdout.contains("\nsandbox\n"), "{stdout}");
    assert!(
        stdout.ends_with("not ready: fix the provider lines above\n"),
        "{stdout}"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn doctor_reports_the_config_files_the_provider_and_its_models_and_exits_0() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let local = runtime.block_on(LocalServer::openai_compatible(&["qwen", "tiny"]));
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join(".agentls.toml"),
        "[provider]\nmodel = \"tiny\"\n[approvals]\npolicy = \"untrusted\"\n",
    )
    .unwrap();
    let output = fresh_command(
        home.path(),
        &locals(&[("Ollama", &local.base_url)]),
        &["doctor", "--json", "-C", workspace.path().to_str().unwrap()],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ready"], true);
    let files = report["configFiles"].as_array().unwrap();
    let workspace_file = files
        .iter()
        .find(|file| file["path"].as_str().unwrap().ends_with(".agentls.toml"))
        .unwrap();
    assert_eq!(workspace_file["status"], "read");
    assert_eq!(
        workspace_file["keys"],
        json!(["approvals.policy", "provider.model"])
    );
    assert_eq!(
        report["provider"]["chosen"]["detail"],
        format!(
            "openai-chat, model tiny at {url} (no API key is set and Ollama answers at {url})",
            url = local.base_url
        )
    );
    assert_eq!(
        report["provider"]["answers"]["detail"],
        "answers; 2 models, tiny among them"
    );
    assert!(report["sandbox"]["summary"].is_string());
    assert_eq!(report["editors"].as_array().unwrap().len(), 3);
}

#[test]
fn doctor_with_a_bad_config_file_names_it() {
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join(".config/agentls");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("config.toml"), "[provider\nkind = 3").unwrap();
    let output = fresh_command(
        home.path(),
        &locals(&[("Ollama", &closed_url())]),
        &["doctor", "-C", home.path().to_str().unwrap()],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "  !! {} invalid",
            config_dir.join("config.toml").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("config.toml"), "{stdout}");
    assert_eq!(output.status.code(), Some(1), "{stdout}");
}

#[test]
fn a_base_url_that_is_not_a_url_is_named_at_once() {
    let home = tempfile::tempdir().unwrap();
    let output = fresh_command(home.path(), &closed_url(), &["exec", "say hi"])
        .env("AGENTLS_BASE_URL", "not a url")
        .current_dir(home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert_eq!(
        stdout.trim(),
        "error: agentls exec: provider.base_url \"not a url\" is not an http(s) URL: write it \
         like http://127.0.0.1:11434/v1 (it comes from AGENTLS_BASE_URL, --base-url or a config file)"
    );
}
