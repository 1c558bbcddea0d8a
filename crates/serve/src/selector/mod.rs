//! Label and field selectors for the replayed API (`?labelSelector=` / `?fieldSelector=`).
//!
//! `kubectl get -l …` and `kubectl get --field-selector …` send their selector verbatim to the
//! API server and print whatever comes back, so the replay has to accept exactly the syntax the
//! real server accepts and reject what it rejects. The label grammar, the key/value validation
//! and the matching rules mirror apimachinery's `pkg/labels/selector.go` (`labels.Parse`); the
//! field grammar mirrors `pkg/fields/selector.go` (`fields.ParseSelector`), evaluated against
//! dotted JSON paths instead of the per-resource field sets the real registries build.
//!
//! The error type lives here because both grammars report through it; each grammar lives in
//! its own submodule so the label parser (the larger and subtler of the two) can be read
//! without the field one in the way.

mod field;
mod label;

pub use field::FieldSelector;
pub use label::LabelSelector;

/// A selector the API server would refuse. Every message quotes the whole selector as sent,
/// because that is what the user typed after `-l` / `--field-selector`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The label selector does not follow the grammar (e.g. `a=b=c`, `a in (x`, `a,`).
    #[error(
        "unable to parse label selector {selector:?}: found {found} at position {position}, expected {expected}"
    )]
    LabelSyntax {
        selector: String,
        position: usize,
        found: String,
        expected: &'static str,
    },
    /// A key that is not a valid qualified name (`[prefix/]name`).
    #[error("invalid label selector {selector:?}: key {key:?} is not a valid label key: {reason}")]
    InvalidLabelKey {
        selector: String,
        key: String,
        reason: String,
    },
    /// A value that is not a valid label value (or not an integer for `>` / `<`).
    #[error(
        "invalid label selector {selector:?}: value {value:?} for key {key:?} is invalid: {reason}"
    )]
    InvalidLabelValue {
        selector: String,
        key: String,
        value: String,
        reason: String,
    },
    /// A field selector term without `=`, `==` or `!=`, or with an empty field path.
    #[error("invalid field selector {selector:?}: can't understand {term:?}: {reason}")]
    FieldTerm {
        selector: String,
        term: String,
        reason: &'static str,
    },
    /// A field selector value with an unescaped `=` or a bad `\` escape.
    #[error("invalid field selector {selector:?}: value {value:?}: {reason}")]
    FieldValue {
        selector: String,
        value: String,
        reason: String,
    },
}
