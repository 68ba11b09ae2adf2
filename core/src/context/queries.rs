//! The tags query of each language: the one its grammar ships (TypeScript's is
//! combined with JavaScript's, as tree-sitter's own tagger does), plus a few
//! patterns of ours for what those leave out (constants, Rust paths such as
//! `Foo::new()`, trait method declarations, TypeScript type aliases and enums, Go
//! constants), compiled once per process.

use std::sync::OnceLock;

use tree_sitter::Query;

use crate::language::Language;

/// The compiled tags query of `language`, built once per process.
pub(crate) fn tags_query(language: Language) -> Option<&'static Query> {
    static QUERIES: [OnceLock<Option<Query>>; Language::ALL.len()] =
        [const { OnceLock::new() }; Language::ALL.len()];
    let slot = Language::ALL
        .iter()
        .position(|candidate| *candidate == language)?;
    QUERIES[slot]
        .get_or_init(|| {
            let source = query_source(language)?;
            match Query::new(&language.tree_sitter_language(), &source) {
                Ok(query) => Some(query),
                Err(error) => {
                    // Only a grammar update can break a query; the tests compile
                    // every one, so this is reached only by a mismatched build.
                    tracing::error!(%language, %error, "tags query does not compile");
                    None
                }
            }
        })
        .as_ref()
}

/// The text of `language`'s query: what the cache key hashes, so that a new
/// query invalidates symbols read with the old one.
pub(crate) fn query_source(language: Language) -> Option<String> {
    let (shipped, ours) = match language {
        Language::Rust => (tree_sitter_rust::TAGS_QUERY.to_string(), RUST_EXTRA),
        Language::Python => (tree_sitter_python::TAGS_QUERY.to_string(), PYTHON_EXTRA),
        Language::JavaScript => (
            tree_sitter_javascript::TAGS_QUERY.to_string(),
            JAVASCRIPT_EXTRA,
        ),
        Language::TypeScript | Language::Tsx => (
            format!(
                "{}\n{}",
                tree_sitter_javascript::TAGS_QUERY,
                tree_sitter_typescript::TAGS_QUERY
            ),
            TYPESCRIPT_EXTRA,
        ),
        Language::Go => (tree_sitter_go::TAGS_QUERY.to_string(), GO_EXTRA),
        Language::Bash => return None,
    };
    Some(format!("{shipped}\n{ours}"))
}

const RUST_EXTRA: &str = r#"
(impl_item type: (_) @name) @definition.impl
(function_signature_item name: (identifier) @name) @definition.method
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (scoped_identifier name: (identifier) @name))) @reference.call
(call_expression function: (generic_function function: (field_expression field: (field_identifier) @name))) @reference.call
(macro_invocation macro: (scoped_identifier name: (identifier) @name)) @reference.call
(type_identifier) @name @reference.type
"#;

const PYTHON_EXTRA: &str = "";

const JAVASCRIPT_EXTRA: &str = r#"
(program (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant))
"#;

const TYPESCRIPT_EXTRA: &str = r#"
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.type
(program (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name value: [(number) (string) (template_string) (object) (array)])) @definition.constant))
"#;

const GO_EXTRA: &str = r#"
(const_spec name: (identifier) @name) @definition.constant
(source_file (var_declaration (var_spec name: (identifier) @name) @definition.constant))
"#;

/// Whether `language`'s query compiles, for the test that compiles every one.
#[cfg(test)]
pub(crate) fn query_compiles(language: Language) -> bool {
    tags_query(language).is_some()
}
