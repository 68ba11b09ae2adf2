//! Small text statistics.

/// How many words `text` holds; words are separated by any whitespace.
pub fn word_count(text: &str) -> usize {
    text.split(' ').filter(|word| !word.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_on_one_line() {
        assert_eq!(word_count("the quick brown fox"), 4);
    }

    #[test]
    fn counts_words_across_lines_and_tabs() {
        assert_eq!(word_count("the quick\nbrown\tfox"), 4);
    }
}
