//! How provider faults become `ProviderError`s: HTTP statuses and error bodies,
//! error events inside a stream, and the delays providers ask to wait.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::model::ProviderError;

/// The parts of an error body every format carries in some shape: OpenAI
/// `{"error":{"message","type","code"}}`, Anthropic `{"type":"error","error":{"type",
/// "message"}}`, Ollama `{"error":"..."}`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ErrorDetails {
    /// OpenAI `error.type`, Anthropic `error.type`.
    pub kind: Option<String>,
    /// OpenAI `error.code` (a string; OpenRouter sends a number).
    pub code: Option<String>,
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<serde_json::Value>,
    message: Option<String>,
}

impl ErrorDetails {
    /// Reads an error object (the value of an `error` key).
    pub(crate) fn from_value(value: &serde_json::Value) -> ErrorDetails {
        let text = |key: &str| match value.get(key) {
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(serde_json::Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        match value {
            serde_json::Value::String(message) => ErrorDetails {
                message: message.clone(),
                ..ErrorDetails::default()
            },
            _ => ErrorDetails {
                kind: text("type"),
                code: text("code"),
                message: text("message").unwrap_or_default(),
            },
        }
    }

    /// Reads a whole error body; a body that is not JSON becomes the message.
    pub(crate) fn from_body(body: &str) -> ErrorDetails {
        match serde_json::from_str::<Envelope>(body) {
            Ok(Envelope {
                error: Some(error), ..
            }) => ErrorDetails::from_value(&error),
            Ok(Envelope {
                message: Some(message),
                ..
            }) => ErrorDetails {
                message,
                ..ErrorDetails::default()
            },
            _ => ErrorDetails {
                message: truncate(body.trim(), 1000),
                ..ErrorDetails::default()
            },
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn is_context_length(details: &ErrorDetails) -> bool {
    const PHRASES: [&str; 6] = [
        "prompt is too long",
        "context_length_exceeded",
        "maximum context length",
        "context window",
        "exceeds the available context size",
        "context length",
    ];
    let code_says = matches!(
        details.code.as_deref().or(details.kind.as_deref()),
        Some("context_length_exceeded" | "exceed_context_size_error")
    );
    let lower = details.message.to_ascii_lowercase();
    code_says || PHRASES.iter().any(|phrase| lower.contains(phrase))
}

/// Classifies a fault. `status` is `None` for error events inside a 200 stream.
pub(crate) fn classify(
    status: Option<u16>,
    details: ErrorDetails,
    retry_after: Option<Duration>,
    api_key: Option<&str>,
) -> ProviderError {
    let message = redact(&details.message, api_key);
    let message = if message.is_empty() {
        status
            .and_then(|status| reqwest::StatusCode::from_u16(status).ok())
            .and_then(|status| status.canonical_reason())
            .unwrap_or("no message")
            .to_string()
    } else {
        message
    };
    let kind = details.kind.as_deref().unwrap_or("");
    let code = details.code.as_deref().unwrap_or("");

    if is_context_length(&details) {
        return ProviderError::ContextLengthExceeded(message);
    }
    if code == "insufficient_quota" {
        return ProviderError::Rejected {
            status: status.unwrap_or(429),
            message,
        };
    }
    if status == Some(429)
        || kind == "rate_limit_error"
        || code == "rate_limit_exceeded"
        || code == "429"
    {
        let retry_after = retry_after.or_else(|| retry_after_in_message(&message));
        return ProviderError::RateLimited {
            message,
            retry_after,
        };
    }
    if status == Some(529) || kind == "overloaded_error" {
        return ProviderError::Server {
            status: 529,
            message,
            retry_after,
        };
    }
    let server_side = matches!(kind, "api_error" | "server_error") || code == "server_error";
    match status {
        Some(status @ (408 | 409 | 500..)) => ProviderError::Server {
            status,
            message,
            retry_after,
        },
        Some(status) if !server_side => ProviderError::Rejected { status, message },
        Some(status) => ProviderError::Server {
            status,
            message,
            retry_after,
        },
        None if matches!(
            kind,
            "invalid_request_error"
                | "authentication_error"
                | "permission_error"
                | "not_found_error"
        ) || matches!(code, "invalid_prompt" | "invalid_request_error") =>
        {
            ProviderError::Rejected {
                status: 400,
                message,
            }
        }
        None => ProviderError::Server {
            status: 500,
            message,
            retry_after,
        },
    }
}

/// Maps an HTTP error answer.
pub(crate) fn from_http(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: SystemTime,
    api_key: Option<&str>,
) -> ProviderError {
    classify(
        Some(status),
        ErrorDetails::from_body(body),
        retry_after_in_headers(headers, now),
        api_key,
    )
}

/// Removes the key itself, and the masked forms providers echo back ("Incorrect
/// API key provided: sk-abc***xyz"), from a provider's message.
pub(crate) fn redact(message: &str, api_key: Option<&str>) -> String {
    let mut message = message.to_string();
    if let Some(key) = api_key.filter(|key| !key.is_empty()) {
        message = message.replace(key, "[redacted]");
    }
    if !message.contains('*') {
        return message;
    }
    message
        .split(' ')
        .map(|word| {
            if word.contains('*') && word.len() > 8 && !word.starts_with('*') {
                "[redacted]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `retry-after-ms` (milliseconds), else `retry-after` in seconds or as an HTTP date.
pub(crate) fn retry_after_in_headers(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if let Some(millis) = header("retry-after-ms").and_then(|value| value.parse::<f64>().ok()) {
        if millis.is_finite() && millis >= 0.0 {
            return Some(Duration::from_secs_f64(millis / 1000.0));
        }
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let date = SystemTime::from(date);
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay in "Please try again in 1.5s" / "try again in 20ms" / "in 1m30s".
pub(crate) fn retry_after_in_message(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let start = lower.find("try again in ")? + "try again in ".len();
    let mut rest = &lower[start..];
    let mut total = Duration::ZERO;
    let mut parsed_any = false;
    loop {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            break;
        }
        let Ok(number) = rest[..number_len].parse::<f64>() else {
            break;
        };
        rest = &rest[number_len..];
        let (unit_seconds, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else {
            break;
        };
        total += Duration::from_secs_f64(number * unit_seconds);
        parsed_any = true;
        rest = &rest[unit_len..];
    }
    parsed_any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn retry_after_headers_in_seconds_milliseconds_and_dates() {
        let now = SystemTime::from(
            chrono::DateTime::parse_from_rfc2822("Sun, 22 Nov 2026 03:16:09 GMT").unwrap(),
        );
        let delay = |pairs| retry_after_in_headers(&headers(pairs), now);
        assert_eq!(delay(&[("retry-after", "2")]), Some(Duration::from_secs(2)));
        assert_eq!(
            delay(&[("retry-after", "1.5")]),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            delay(&[("retry-after-ms", "250"), ("retry-after", "2")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            delay(&[("retry-after", "Sun, 22 Nov 2026 03:16:39 GMT")]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            delay(&[("retry-after", "Sun, 22 Nov 2026 03:00:00 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(delay(&[("retry-after", "soon")]), None);
        assert_eq!(delay(&[]), None);
    }

    #[test]
    fn retry_after_phrases_in_messages() {
        let cases = [
            (
                "Rate limit reached for requests. Please try again in 1s.",
                Some(1000),
            ),
            ("Please try again in 1.5s.", Some(1500)),
            ("Please try again in 20ms.", Some(20)),
            ("Please try again in 1m30s.", Some(90_000)),
            ("Please try again in a moment.", None),
            ("Rate limit reached.", None),
        ];
        for (message, millis) in cases {
            assert_eq!(
                retry_after_in_message(message),
                millis.map(Duration::from_millis),
                "{message}"
            );
        }
    }

    #[test]
    fn error_bodies_map_to_provider_errors() {
        let now = SystemTime::now();
        let map = |status, pairs: &[(&'static str, &'static str)], body: &str| {
            from_http(status, &headers(pairs), body, now, Some("sk-live-secret"))
        };
        let openai_429 = include_str!("../../../tests/fixtures/wire/openai-responses-429.http");
        let body = openai_429.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            map(429, &[], body),
            ProviderError::RateLimited {
                message: "Rate limit reached for requests. Please try again in 1s.".into(),
                retry_after: Some(Duration::from_secs(1)),
            }
        );
        assert_eq!(
            map(429, &[("retry-after", "2")], body).retry_after(),
            Some(Duration::from_secs(2))
        );
        assert!(matches!(
            map(
                429,
                &[],
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#
            ),
            ProviderError::Rejected { status: 429, .. }
        ));
        assert_eq!(
            map(
                529,
                &[],
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            ProviderError::Server {
                status: 529,
                message: "Overloaded".into(),
                retry_after: None
            }
        );
        assert!(matches!(
            map(503, &[], "<html>upstream connect error</html>"),
            ProviderError::Server { status: 503, .. }
        ));
        assert_eq!(
            map(
                400,
                &[],
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 215000 tokens > 200000 maximum"}}"#
            ),
            ProviderError::ContextLengthExceeded(
                "prompt is too long: 215000 tokens > 200000 maximum".into()
            )
        );
        assert!(matches!(
            map(
                400,
                &[],
                r#"{"error":{"message":"Your input exceeds the context window of this model.","type":"invalid_request_error","param":"input","code":"context_length_exceeded"}}"#
            ),
            ProviderError::ContextLengthExceeded(_)
        ));
        assert!(matches!(
            map(
                400,
                &[],
                r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#
            ),
            ProviderError::ContextLengthExceeded(_)
        ));
        assert_eq!(
            map(
                404,
                &[],
                r#"{"error":"model \"llama9\" not found, try pulling it first"}"#
            ),
            ProviderError::Rejected {
                status: 404,
                message: "model \"llama9\" not found, try pulling it first".into()
            }
        );
        assert_eq!(
            map(401, &[], ""),
            ProviderError::Rejected {
                status: 401,
                message: "Unauthorized".into()
            }
        );
    }

    #[test]
    fn keys_are_scrubbed_from_provider_messages() {
        let error = from_http(
            401,
            &HeaderMap::new(),
            r#"{"error":{"message":"Incorrect API key provided: sk-live-***********cret. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            SystemTime::now(),
            Some("sk-live-secret"),
        );
        let text = error.to_string();
        assert!(!text.contains("sk-live"), "{text}");
        assert!(
            text.contains("Incorrect API key provided: [redacted]"),
            "{text}"
        );
        assert_eq!(
            redact("echo sk-live-secret back", Some("sk-live-secret")),
            "echo [redacted] back"
        );
    }

    #[test]
    fn error_events_without_a_status() {
        let details = |kind: &str, code: &str, message: &str| ErrorDetails {
            kind: (!kind.is_empty()).then(|| kind.to_string()),
            code: (!code.is_empty()).then(|| code.to_string()),
            message: message.to_string(),
        };
        assert!(matches!(
            classify(
                None,
                details("overloaded_error", "", "Overloaded"),
                None,
                None
            ),
            ProviderError::Server { status: 529, .. }
        ));
        assert!(matches!(
            classify(None, details("", "server_error", "boom"), None, None),
            ProviderError::Server { status: 500, .. }
        ));
        assert_eq!(
            classify(
                None,
                details("", "rate_limit_exceeded", "Please try again in 20ms."),
                None,
                None
            ),
            ProviderError::RateLimited {
                message: "Please try again in 20ms.".into(),
                retry_after: Some(Duration::from_millis(20))
            }
        );
        assert!(matches!(
            classify(None, details("", "invalid_prompt", "flagged"), None, None),
            ProviderError::Rejected { status: 400, .. }
        ));
    }
}
