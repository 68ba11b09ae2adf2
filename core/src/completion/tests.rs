use expect_test::expect;

use super::template::{clean, render};
use super::*;
use crate::config::{CompletionProviderConfig, FimTemplate};

fn prompt() -> CompletionPrompt {
    CompletionPrompt {
        prefix: "fn add(a: i32, b: i32) -> i32 {\n    ".to_string(),
        suffix: "\n}\n".to_string(),
        definitions: vec![(
            "src/num.rs".to_string(),
            "pub struct Num(i32);\n\nimpl Num {}".to_string(),
        )],
        language: Some(Language::Rust),
    }
}

#[test]
fn every_template_puts_prefix_and_suffix_where_its_model_expects_them() {
    let shown: Vec<String> = [
        FimTemplate::Qwen,
        FimTemplate::Codellama,
        FimTemplate::Starcoder,
        FimTemplate::Deepseek,
        FimTemplate::Codestral,
        FimTemplate::Suffix,
        FimTemplate::Custom,
    ]
    .into_iter()
    .map(|template| {
        let rendered = render(template, Some("<s>{prefix}|{suffix}|{x}"), "PRE", "SUF");
        format!("{template:?}: {:?} {:?}", rendered.prompt, rendered.suffix)
    })
    .collect();
    expect![[r#"
        [
            "Qwen: \"<|fim_prefix|>PRE<|fim_suffix|>SUF<|fim_middle|>\" None",
            "Codellama: \"<PRE> PRE <SUF>SUF <MID>\" None",
            "Starcoder: \"<fim_prefix>PRE<fim_suffix>SUF<fim_middle>\" None",
            "Deepseek: \"<｜fim▁begin｜>PRE<｜fim▁hole｜>SUF<｜fim▁end｜>\" None",
            "Codestral: \"[SUFFIX]SUF[PREFIX]PRE\" None",
            "Suffix: \"PRE\" Some(\"SUF\")",
            "Custom: \"<s>PRE|SUF|{x}\" None",
        ]
    "#]]
    .assert_debug_eq(&shown);
}

#[test]
fn a_custom_template_never_reads_braces_in_the_code_as_placeholders() {
    let rendered = render(
        FimTemplate::Custom,
        Some("{prefix}<H>{suffix}"),
        "a{suffix}",
        "}",
    );
    assert_eq!(rendered.prompt, "a{suffix}<H>}");
}

#[test]
fn definitions_go_before_the_prefix_as_comments() {
    expect![[r#"
        "// src/num.rs\n// pub struct Num(i32);\n//\n// impl Num {}\nfn add(a: i32, b: i32) -> i32 {\n    "
    "#]]
    .assert_debug_eq(&prompt().prefix_with_context());
}

#[test]
fn an_insertion_is_cut_at_the_first_stop_sequence() {
    let stops = vec!["<|endoftext|>".to_string(), "<|file_sep|>".to_string()];
    assert_eq!(clean("a + b<|file_sep|>x<|endoftext|>", &stops), "a + b");
    assert_eq!(clean("a + b", &stops), "a + b");
}

#[test]
fn the_fim_request_body_is_what_openai_documents() {
    let config = CompletionConfig {
        provider: CompletionProviderConfig {
            base_url: Some("http://127.0.0.1:9/v1".to_string()),
            model: Some("qwen2.5-coder:1.5b-base".to_string()),
            ..CompletionProviderConfig::default()
        },
        ..CompletionConfig::default()
    };
    let client = FimClient::from_config(&config, &|_| None).unwrap();
    let body = String::from_utf8(client.request_body(&prompt(), 64)).unwrap();
    expect![[r#"{"model":"qwen2.5-coder:1.5b-base","prompt":"<|fim_prefix|>// src/num.rs\n// pub struct Num(i32);\n//\n// impl Num {}\nfn add(a: i32, b: i32) -> i32 {\n    <|fim_suffix|>\n}\n<|fim_middle|>","max_tokens":64,"temperature":0.2,"stream":false,"stop":["<|endoftext|>","<|fim_prefix|>","<|fim_suffix|>","<|fim_middle|>","<|fim_pad|>","<|file_sep|>","<|repo_name|>"]}"#]]
    .assert_eq(&body);
}

#[test]
fn a_custom_template_without_prefix_is_refused() {
    let config = CompletionConfig {
        provider: CompletionProviderConfig {
            template: FimTemplate::Custom,
            custom_template: Some("no placeholders".to_string()),
            ..CompletionProviderConfig::default()
        },
        ..CompletionConfig::default()
    };
    let error = FimClient::from_config(&config, &|_| None).unwrap_err();
    assert!(error.to_string().contains("custom_template"), "{error}");
}

#[test]
fn a_chat_answer_loses_its_markdown_fence() {
    assert_eq!(chat::unfence("```rust\na + b\n```"), "a + b");
    assert_eq!(chat::unfence("a + b"), "a + b");
    assert_eq!(chat::unfence("  a\n  + b"), "  a\n  + b");
}
