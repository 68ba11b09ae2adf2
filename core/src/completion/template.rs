//! The fill-in-the-middle prompt of each model family, and the stop sequences
//! that end its insertion. Pure.

use crate::config::FimTemplate;

/// What goes into `/v1/completions` for one prompt: `prompt`, and `suffix`
/// for servers that apply the model's template themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FimPrompt {
    pub prompt: String,
    pub suffix: Option<String>,
}

/// Renders `prefix` and `suffix` in `template`; `custom` is the user's
/// template for `FimTemplate::Custom`.
pub fn render(
    template: FimTemplate,
    custom: Option<&str>,
    prefix: &str,
    suffix: &str,
) -> FimPrompt {
    let prompt = match template {
        FimTemplate::Qwen => format!("<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"),
        FimTemplate::Codellama => format!("<PRE> {prefix} <SUF>{suffix} <MID>"),
        FimTemplate::Starcoder => format!("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>"),
        FimTemplate::Deepseek => {
            format!("<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>")
        }
        FimTemplate::Codestral => format!("[SUFFIX]{suffix}[PREFIX]{prefix}"),
        FimTemplate::Suffix => {
            return FimPrompt {
                prompt: prefix.to_string(),
                suffix: Some(suffix.to_string()),
            }
        }
        FimTemplate::Custom => custom_prompt(custom.unwrap_or("{prefix}"), prefix, suffix),
    };
    FimPrompt {
        prompt,
        suffix: None,
    }
}

/// Replaces `{prefix}` and `{suffix}` in one pass, so a brace in the code is
/// never read as a placeholder.
fn custom_prompt(template: &str, prefix: &str, suffix: &str) -> String {
    let mut prompt = String::with_capacity(template.len() + prefix.len() + suffix.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        prompt.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{prefix}") {
            prompt.push_str(prefix);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{suffix}") {
            prompt.push_str(suffix);
            rest = after;
        } else {
            prompt.push('{');
            rest = &tail[1..];
        }
    }
    prompt.push_str(rest);
    prompt
}

/// The sequences a model of this family ends its insertion with (servers
/// usually strip its end-of-text token; these are the ones they may not).
pub fn stop_sequences(template: FimTemplate) -> &'static [&'static str] {
    match template {
        FimTemplate::Qwen => &[
            "<|endoftext|>",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            "<|fim_pad|>",
            "<|file_sep|>",
            "<|repo_name|>",
        ],
        FimTemplate::Codellama => &["<EOT>", "<PRE>", "<SUF>", "<MID>"],
        FimTemplate::Starcoder => &[
            "<|endoftext|>",
            "<fim_prefix>",
            "<fim_suffix>",
            "<fim_middle>",
            "<file_sep>",
        ],
        FimTemplate::Deepseek => &[
            "<｜end▁of▁sentence｜>",
            "<｜fim▁begin｜>",
            "<｜fim▁hole｜>",
            "<｜fim▁end｜>",
        ],
        FimTemplate::Codestral => &["[PREFIX]", "[SUFFIX]", "</s>"],
        FimTemplate::Suffix | FimTemplate::Custom => &[],
    }
}

/// The insertion a model answered, cut at the first stop sequence (in case the
/// server did not stop there itself).
pub fn clean<'a>(text: &'a str, stops: &[String]) -> &'a str {
    let end = stops
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop.as_str()))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}
