//! Label selectors (`?labelSelector=`, `kubectl get -l …`).
//!
//! Separate from field selectors because the grammar is a real one (sets, existence, integer
//! comparisons, keyword identifiers) with apimachinery's exact error positions, and the
//! key/value validation rules only apply here.

use std::collections::BTreeMap;
use std::fmt;

use super::SelectorError;

/// The operators of `labels.Parse`, including the rarely used integer comparisons `>` and `<`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelOp {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LabelRequirement {
    key: String,
    op: LabelOp,
    /// Sorted and de-duplicated, as apimachinery keeps them in a string set.
    values: Vec<String>,
}

impl LabelRequirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let actual = labels.get(&self.key);
        match self.op {
            LabelOp::Equals | LabelOp::DoubleEquals | LabelOp::In => {
                actual.is_some_and(|v| self.values.iter().any(|w| w == v))
            }
            // A missing label satisfies `!=` and `notin`, exactly as on a real cluster.
            LabelOp::NotEquals | LabelOp::NotIn => {
                actual.is_none_or(|v| !self.values.iter().any(|w| w == v))
            }
            LabelOp::Exists => actual.is_some(),
            LabelOp::DoesNotExist => actual.is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let (Some(actual), Some(bound)) = (actual, self.values.first()) else {
                    return false;
                };
                let (Ok(actual), Ok(bound)) = (actual.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    actual > bound
                } else {
                    actual < bound
                }
            }
        }
    }
}

impl fmt::Display for LabelRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.op {
            LabelOp::Exists => write!(f, "{key}"),
            LabelOp::DoesNotExist => write!(f, "!{key}"),
            LabelOp::Equals => write!(f, "{key}={first}"),
            LabelOp::DoubleEquals => write!(f, "{key}=={first}"),
            LabelOp::NotEquals => write!(f, "{key}!={first}"),
            LabelOp::GreaterThan => write!(f, "{key}>{first}"),
            LabelOp::LessThan => write!(f, "{key}<{first}"),
            LabelOp::In => write!(f, "{key} in ({})", self.values.join(",")),
            LabelOp::NotIn => write!(f, "{key} notin ({})", self.values.join(",")),
        }
    }
}

/// A parsed `labelSelector`: a conjunction of requirements. The empty selector matches
/// everything, as on the real API server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// Parses the labelSelector query syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
    /// `a` (exists), `!a`, `a>1` / `a<1`, comma-separated (AND), whitespace tolerant.
    ///
    /// Keys must be qualified names and values valid label values, so a selector the real
    /// server would answer with 400 is an error here too.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let tokens = lex_labels(s);
        let mut parser = LabelParser {
            selector: s,
            tokens,
            pos: 0,
        };
        let mut requirements = parser.parse()?;
        // apimachinery sorts requirements by key; this only affects Display.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// True when every requirement holds for `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// True for the selector that selects everything (`""`).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The canonical form apimachinery prints (`Selector.String()`): requirements sorted by key,
/// set values sorted, joined with `,`.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    OpenPar,
    ClosePar,
    Comma,
    Bang,
    NotEquals,
    Equals,
    DoubleEquals,
    Greater,
    Less,
    In,
    NotIn,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("{s:?}"),
            Tok::OpenPar => "'('".into(),
            Tok::ClosePar => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Bang => "'!'".into(),
            Tok::NotEquals => "'!='".into(),
            Tok::Equals => "'='".into(),
            Tok::DoubleEquals => "'=='".into(),
            Tok::Greater => "'>'".into(),
            Tok::Less => "'<'".into(),
            Tok::In => "'in'".into(),
            Tok::NotIn => "'notin'".into(),
            Tok::End => "end of string".into(),
        }
    }

    /// In value (and key) position the keywords `in` / `notin` are plain identifiers, as in
    /// apimachinery's `consume(Values)`.
    fn as_ident(&self) -> Option<String> {
        match self {
            Tok::Ident(s) => Some(s.clone()),
            Tok::In => Some("in".into()),
            Tok::NotIn => Some("notin".into()),
            _ => None,
        }
    }
}

fn is_label_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

/// Splits a label selector into tokens with their byte offsets (for error messages). Special
/// symbols are matched greedily (`!=`, `==`), everything else up to whitespace or a special
/// symbol is an identifier.
fn lex_labels(s: &str) -> Vec<(Tok, usize)> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if is_label_whitespace(c) {
            chars.next();
            continue;
        }
        if is_special(c) {
            chars.next();
            let next = chars.peek().map(|&(_, n)| n);
            let tok = match (c, next) {
                ('!', Some('=')) => {
                    chars.next();
                    Tok::NotEquals
                }
                ('=', Some('=')) => {
                    chars.next();
                    Tok::DoubleEquals
                }
                ('!', _) => Tok::Bang,
                ('=', _) => Tok::Equals,
                ('(', _) => Tok::OpenPar,
                (')', _) => Tok::ClosePar,
                (',', _) => Tok::Comma,
                ('>', _) => Tok::Greater,
                _ => Tok::Less,
            };
            out.push((tok, i));
            continue;
        }
        let start = i;
        let mut end = s.len();
        while let Some(&(j, d)) = chars.peek() {
            if is_label_whitespace(d) || is_special(d) {
                end = j;
                break;
            }
            chars.next();
        }
        let word = &s[start..end];
        let tok = match word {
            "in" => Tok::In,
            "notin" => Tok::NotIn,
            _ => Tok::Ident(word.to_string()),
        };
        out.push((tok, start));
    }
    out.push((Tok::End, s.len()));
    out
}

struct LabelParser<'a> {
    selector: &'a str,
    tokens: Vec<(Tok, usize)>,
    pos: usize,
}

impl LabelParser<'_> {
    fn peek(&self) -> (Tok, usize) {
        self.tokens
            .get(self.pos)
            .cloned()
            .unwrap_or((Tok::End, self.selector.len()))
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.peek();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn syntax(&self, (tok, position): (Tok, usize), expected: &'static str) -> SelectorError {
        SelectorError::LabelSyntax {
            selector: self.selector.to_string(),
            position,
            found: tok.describe(),
            expected,
        }
    }

    fn parse(&mut self) -> Result<Vec<LabelRequirement>, SelectorError> {
        let mut reqs = Vec::new();
        loop {
            let t = self.peek();
            match t.0 {
                Tok::End => return Ok(reqs),
                Tok::Bang | Tok::Ident(_) | Tok::In | Tok::NotIn => {
                    reqs.push(self.requirement()?);
                    let after = self.next();
                    match after.0 {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let n = self.peek();
                            if !matches!(n.0, Tok::Bang | Tok::Ident(_) | Tok::In | Tok::NotIn) {
                                return Err(self.syntax(n, "an identifier after ','"));
                            }
                        }
                        _ => return Err(self.syntax(after, "',' or end of string")),
                    }
                }
                _ => return Err(self.syntax(t, "'!', an identifier, or end of string")),
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelRequirement, SelectorError> {
        let mut t = self.next();
        let negated = t.0 == Tok::Bang;
        if negated {
            t = self.next();
        }
        let Some(key) = t.0.as_ident() else {
            return Err(self.syntax(t, "an identifier (label key)"));
        };
        self.validate_key(&key)?;
        let ahead = self.peek().0;
        if negated || matches!(ahead, Tok::End | Tok::Comma) {
            let op = if negated {
                LabelOp::DoesNotExist
            } else {
                LabelOp::Exists
            };
            return Ok(LabelRequirement {
                key,
                op,
                values: Vec::new(),
            });
        }
        let t = self.next();
        let op = match t.0 {
            Tok::Equals => LabelOp::Equals,
            Tok::DoubleEquals => LabelOp::DoubleEquals,
            Tok::NotEquals => LabelOp::NotEquals,
            Tok::Greater => LabelOp::GreaterThan,
            Tok::Less => LabelOp::LessThan,
            Tok::In => LabelOp::In,
            Tok::NotIn => LabelOp::NotIn,
            _ => {
                return Err(self.syntax(t, "one of '=', '==', '!=', 'in', 'notin', '>', '<'"));
            }
        };
        let mut values = match op {
            LabelOp::In | LabelOp::NotIn => self.set_values()?,
            _ => vec![self.exact_value()?],
        };
        values.sort();
        values.dedup();
        for v in &values {
            self.validate_value(&key, v)?;
        }
        if matches!(op, LabelOp::GreaterThan | LabelOp::LessThan)
            && values.first().is_none_or(|v| v.parse::<i64>().is_err())
        {
            return Err(SelectorError::InvalidLabelValue {
                selector: self.selector.to_string(),
                key,
                value: values.first().cloned().unwrap_or_default(),
                reason: "for '>' and '<' the value must be an integer".into(),
            });
        }
        Ok(LabelRequirement { key, op, values })
    }

    /// The value after `=`, `==`, `!=`, `>`, `<`; an empty value (`a=`) is allowed.
    fn exact_value(&mut self) -> Result<String, SelectorError> {
        let t = self.peek();
        if matches!(t.0, Tok::End | Tok::Comma) {
            return Ok(String::new());
        }
        let t = self.next();
        t.0.as_ident()
            .ok_or_else(|| self.syntax(t, "an identifier (label value)"))
    }

    /// `( v1, v2, … )`; empty entries stand for the empty value, as in apimachinery.
    fn set_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let t = self.next();
        if t.0 != Tok::OpenPar {
            return Err(self.syntax(t, "'('"));
        }
        let mut values = Vec::new();
        let mut expecting_value = true;
        loop {
            let t = self.next();
            match &t.0 {
                Tok::ClosePar => {
                    if expecting_value {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                Tok::Comma => {
                    if expecting_value {
                        values.push(String::new());
                    }
                    expecting_value = true;
                }
                other => match other.as_ident() {
                    Some(v) if expecting_value => {
                        values.push(v);
                        expecting_value = false;
                    }
                    Some(_) => return Err(self.syntax(t, "',' or ')'")),
                    None => return Err(self.syntax(t, "',', ')' or an identifier (label value)")),
                },
            }
        }
    }

    fn validate_key(&self, key: &str) -> Result<(), SelectorError> {
        validate_qualified_name(key).map_err(|reason| SelectorError::InvalidLabelKey {
            selector: self.selector.to_string(),
            key: key.to_string(),
            reason,
        })
    }

    fn validate_value(&self, key: &str, value: &str) -> Result<(), SelectorError> {
        validate_label_value(value).map_err(|reason| SelectorError::InvalidLabelValue {
            selector: self.selector.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            reason,
        })
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the shape of a label name and a non-empty value.
fn is_label_token(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// DNS-1123 subdomain: lowercase alphanumeric labels separated by dots, `-` inside labels.
fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    (f.is_ascii_lowercase() || f.is_ascii_digit())
                        && (l.is_ascii_lowercase() || l.is_ascii_digit())
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                }
                _ => false,
            }
        })
}

/// apimachinery's `IsQualifiedName`: `[dns-subdomain/]name`, name at most 63 characters.
fn validate_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err("prefix part must be non-empty".into());
        }
        if !is_dns1123_subdomain(prefix) {
            return Err(
                "prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters"
                    .into(),
            );
        }
    }
    if name.is_empty() {
        return Err("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Err("name part must be no more than 63 characters".into());
    }
    if !is_label_token(name) {
        return Err("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}

/// apimachinery's `IsValidLabelValue`: empty, or at most 63 characters of the label alphabet.
fn validate_label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if !value.is_empty() && !is_label_token(value) {
        return Err("a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_equality_and_inequality() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        assert!(LabelSelector::parse("app=web").unwrap().matches(&l));
        assert!(LabelSelector::parse("app==web").unwrap().matches(&l));
        assert!(!LabelSelector::parse("app=db").unwrap().matches(&l));
        assert!(LabelSelector::parse("app!=db").unwrap().matches(&l));
        assert!(!LabelSelector::parse("app!=web").unwrap().matches(&l));
        // A missing key satisfies != and notin.
        assert!(LabelSelector::parse("env!=prod").unwrap().matches(&l));
        assert!(
            LabelSelector::parse("env notin (prod)")
                .unwrap()
                .matches(&l)
        );
    }

    #[test]
    fn label_sets_existence_and_conjunction() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let s = LabelSelector::parse(" app in ( web , api ),tier , !canary ").unwrap();
        assert!(s.matches(&l));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(!LabelSelector::parse("app notin (web)").unwrap().matches(&l));
        assert!(!LabelSelector::parse("!app").unwrap().matches(&l));
        assert!(LabelSelector::parse("n>4,n<6").unwrap().matches(&l));
        assert!(!LabelSelector::parse("n>5").unwrap().matches(&l));
        // Keywords are plain identifiers in value position; empty value is allowed.
        assert!(
            LabelSelector::parse("x=in")
                .unwrap()
                .matches(&labels(&[("x", "in")]))
        );
        assert!(
            LabelSelector::parse("x=")
                .unwrap()
                .matches(&labels(&[("x", "")]))
        );
        assert!(
            LabelSelector::parse("app.kubernetes.io/name=web")
                .unwrap()
                .matches(&labels(&[("app.kubernetes.io/name", "web")]))
        );
    }

    #[test]
    fn label_empty_and_display() {
        let s = LabelSelector::parse("  ").unwrap();
        assert!(s.is_empty());
        assert!(s.matches(&labels(&[])));
        let s = LabelSelector::parse("z=1,a in (y,x),!b").unwrap();
        assert!(!s.is_empty());
        assert_eq!(s.to_string(), "a in (x,y),!b,z=1");
    }

    #[test]
    fn label_errors_quote_selector() {
        for bad in [
            "a=b=c",
            "a in (x,y",
            "a in x",
            "a,",
            ",a",
            "a b",
            "=b",
            "a=(b)",
            "!a=b",
            "a in (x y)",
            "a>b",
            "-bad=x",
            "a=-bad",
            "Foo/bar=x",
            "a=(",
        ] {
            let err = LabelSelector::parse(bad).expect_err(bad);
            let msg = err.to_string();
            assert!(msg.contains(&format!("{bad:?}")), "{bad}: {msg}");
        }
        let err = LabelSelector::parse("a=b=c").unwrap_err();
        assert!(matches!(
            err,
            SelectorError::LabelSyntax { position: 3, .. }
        ));
        assert!(err.to_string().contains("expected ',' or end of string"));
        let err = LabelSelector::parse("a in (x,y").unwrap_err();
        assert!(err.to_string().contains("end of string"), "{err}");
    }
}
