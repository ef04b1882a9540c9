//! Label and field selectors: parsing with Kubernetes' grammar and error
//! messages, matching, and canonical printing.
//!
//! Mirrors `k8s.io/apimachinery/pkg/labels/selector.go` (`Parse`, its lexer
//! and parser, `Requirement.Matches`, `String`) and
//! `k8s.io/apimachinery/pkg/fields/selector.go` (`ParseSelector`,
//! `EscapeValue`, `UnescapeValue`).

use std::collections::BTreeMap;
use std::fmt;

use crate::field::{self, Path};
use crate::validation::{is_qualified_name, is_valid_label_value};

/// A malformed selector; the message is Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

/// The operator of a label requirement (Go: `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>1` (integers)
    GreaterThan,
    /// `key<1` (integers)
    LessThan,
}

/// One requirement of a label selector (Go: `labels.Requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// A requirement, validated as Go's `NewRequirement` does (the key a
    /// qualified name, each value a label value, the operator's value count).
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, ParseError> {
        let mut errs = field::ErrorList::new();
        let root = Path::default();
        if let Some(err) = validate_label_key(key, &root.child("key")) {
            errs.push(err);
        }
        let values_path = root.child("values");
        let list = || serde_json::Value::from(values.clone());
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                errs.push(field::Error::invalid(
                    &values_path,
                    list(),
                    "for 'in', 'notin' operators, values set can't be empty",
                ));
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                errs.push(field::Error::invalid(
                    &values_path,
                    list(),
                    "exact-match compatibility requires one single value",
                ));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errs.push(field::Error::invalid(
                    &values_path,
                    list(),
                    "values set must be empty for exists and does not exist",
                ));
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(field::Error::invalid(
                        &values_path,
                        list(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, value) in values.iter().enumerate() {
                    if value.parse::<i64>().is_err() {
                        errs.push(field::Error::invalid(
                            &values_path.index(i),
                            value.as_str(),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, value) in values.iter().enumerate() {
            let msgs = is_valid_label_value(value);
            if !msgs.is_empty() {
                errs.push(field::Error::invalid(
                    &values_path.index(i).key(key),
                    value.as_str(),
                    msgs.join("; "),
                ));
            }
        }
        match field::aggregate(&errs) {
            Some(message) => Err(ParseError(message)),
            None => Ok(Self {
                key: key.to_owned(),
                operator,
                values,
            }),
        }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values (sorted for `in` / `notin`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfy the requirement (Go: `Requirement.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(actual), [wanted]) = (value, self.values.as_slice()) else {
                    return false;
                };
                match (actual.parse::<i64>(), wanted.parse::<i64>()) {
                    (Ok(actual), Ok(wanted)) if self.operator == Operator::GreaterThan => {
                        actual > wanted
                    }
                    (Ok(actual), Ok(wanted)) => actual < wanted,
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let parenthesized = matches!(self.operator, Operator::In | Operator::NotIn);
        if parenthesized {
            f.write_str("(")?;
        }
        let mut values = self.values.clone();
        values.sort();
        f.write_str(&values.join(","))?;
        if parenthesized {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A label selector: requirements that must all hold (Go: `labels.Selector`).
/// The empty selector selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// The selector that selects everything (Go: `labels.Everything`).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses a selector string with Kubernetes' grammar (Go: `labels.Parse`).
    pub fn parse(selector: &str) -> Result<Self, ParseError> {
        let tokens = lex(selector);
        let mut parser = Parser {
            tokens,
            position: 0,
        };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// A selector from requirements (sorted by key).
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self { requirements }
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector selects everything (Go: `Empty`).
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// The operator of a field requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value`
    Equals,
    /// `field!=value`
    NotEquals,
}

/// One requirement of a field selector (Go: `fields.Requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field (`metadata.name`).
    pub field: String,
    /// The operator.
    pub operator: FieldOperator,
    /// The value, unescaped.
    pub value: String,
}

impl FieldRequirement {
    fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        let actual = fields.get(&self.field).map_or("", String::as_str);
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_field_value(&self.value))
    }
}

/// A field selector: `field=value` / `field!=value` terms that must all
/// hold (Go: `fields.Selector`). A missing field reads as `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that selects everything (Go: `fields.Everything`).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses a selector string (Go: `fields.ParseSelector`): terms split at
    /// unescaped commas and sorted, values unescaped (`\,`, `\=`, `\\`).
    pub fn parse(selector: &str) -> Result<Self, ParseError> {
        let mut terms = split_terms(selector);
        terms.sort_unstable();
        let mut requirements = Vec::new();
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let Some((field, operator, value)) = split_term(term) else {
                return Err(ParseError(format!(
                    "invalid selector: '{selector}'; can't understand '{term}'"
                )));
            };
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value: unescape_field_value(value)?,
            });
        }
        Ok(Self { requirements })
    }

    /// A selector requiring `field=value` for each pair.
    pub fn equals<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let requirements = pairs
            .into_iter()
            .map(|(field, value)| FieldRequirement {
                field: field.to_owned(),
                operator: FieldOperator::Equals,
                value: value.to_owned(),
            })
            .collect();
        Self { requirements }
    }

    /// Whether `fields` satisfy every requirement.
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(fields))
    }

    /// Whether the selector selects everything (Go: `Empty`).
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, for checking the fields a resource supports.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The value `field` must equal when the selector is exactly one
    /// `field=value` term (Go: `RequiresExactMatch` for a single term).
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// Escapes `\`, `,` and `=` in a field selector value (Go: `fields.EscapeValue`).
pub fn escape_field_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reverses [`escape_field_value`], rejecting unknown escapes and bare `,`
/// or `=` (Go: `fields.UnescapeValue`).
pub fn unescape_field_value(value: &str) -> Result<String, ParseError> {
    let mut out = String::with_capacity(value.len());
    let mut in_slash = false;
    for c in value.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(ParseError(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                )));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(ParseError(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                )));
            }
            c => out.push(c),
        }
    }
    if in_slash {
        return Err(ParseError(
            "invalid field selector: invalid escape sequence: \\".to_owned(),
        ));
    }
    Ok(out)
}

fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let (mut start, mut in_slash) = (0, false);
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, operator) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], operator, value));
            }
        }
    }
    None
}

fn validate_label_key(key: &str, path: &Path) -> Option<field::Error> {
    let msgs = is_qualified_name(key);
    (!msgs.is_empty()).then(|| field::Error::invalid(path, key, msgs.join("; ")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
    Error,
}

fn keyword(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's lexer, byte by byte; a NUL byte ends the input as in Go.
fn lex(selector: &str) -> Vec<(Token, String)> {
    let input = selector.as_bytes();
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let bytes = &input[..end];
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            tokens.push((Token::End, String::new()));
            return tokens;
        }
        let start = pos;
        if is_special(bytes[pos]) {
            let mut last: Option<(Token, usize)> = None;
            while pos < bytes.len() && is_special(bytes[pos]) {
                let candidate = String::from_utf8_lossy(&bytes[start..=pos]);
                if let Some(token) = keyword(&candidate) {
                    last = Some((token, pos + 1));
                } else if last.is_some() {
                    break;
                }
                pos += 1;
            }
            match last {
                Some((token, stop)) => {
                    pos = stop;
                    tokens.push((
                        token,
                        String::from_utf8_lossy(&bytes[start..stop]).into_owned(),
                    ));
                }
                None => {
                    let found = String::from_utf8_lossy(&bytes[start..pos]);
                    tokens.push((
                        Token::Error,
                        format!("error expected: keyword found '{found}'"),
                    ));
                }
            }
        } else {
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let literal = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
            let token = keyword(&literal).unwrap_or(Token::Identifier);
            tokens.push((token, literal));
        }
    }
}

struct Parser {
    tokens: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    /// Go's `lookahead(Values)`: `in` and `notin` read as identifiers.
    fn lookahead(&self) -> (Token, String) {
        let (token, literal) = self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or((Token::End, String::new()));
        match token {
            Token::In | Token::NotIn => (Token::Identifier, literal),
            token => (token, literal),
        }
    }

    fn consume(&mut self) -> (Token, String) {
        let item = self.lookahead();
        self.position += 1;
        item
    }

    /// Go's `consume(KeyAndOperator)`: keywords stay keywords.
    fn consume_operator(&mut self) -> (Token, String) {
        let item = self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or((Token::End, String::new()));
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, ParseError> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead();
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .parse_requirement()
                        .map_err(|e| ParseError(format!("unable to parse requirement: {}", e.0)))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume();
                    match token {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let (next, next_literal) = self.lookahead();
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(ParseError(format!(
                                    "found '{next_literal}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(ParseError(format!(
                                "found '{literal}', expected: ',' or 'end of string'"
                            )));
                        }
                    }
                }
                Token::End => return Ok(requirements),
                _ => {
                    return Err(ParseError(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, ParseError> {
        let (key, operator) = self.parse_key_and_infer_operator()?;
        if let Some(operator @ (Operator::Exists | Operator::DoesNotExist)) = operator {
            return Requirement::new(&key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, operator, values)
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), ParseError> {
        let mut operator = None;
        let (mut token, mut literal) = self.consume();
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (token, literal) = self.consume();
        }
        if token != Token::Identifier {
            return Err(ParseError(format!(
                "found '{literal}', expected: identifier"
            )));
        }
        // Go validates the key here with a nil field path, printed "<nil>".
        let msgs = is_qualified_name(&literal);
        if !msgs.is_empty() {
            return Err(ParseError(format!(
                "<nil>: Invalid value: {}: {}",
                crate::go::quote(&literal),
                msgs.join("; ")
            )));
        }
        let (next, _) = self.lookahead();
        if matches!(next, Token::End | Token::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, ParseError> {
        let (token, literal) = self.consume_operator();
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(ParseError(format!(
                    "found '{literal}', expected: in, notin, =, ==, !=, gt, lt"
                )));
            }
        })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, ParseError> {
        let (token, literal) = self.consume();
        if token != Token::OpenPar {
            return Err(ParseError(format!("found '{literal}' expected: '('")));
        }
        let (token, literal) = self.lookahead();
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let (closing, _) = self.consume();
                if closing != Token::ClosedPar {
                    // Go reports the literal seen after '(' here.
                    return Err(ParseError(format!("found '{literal}', expected: ')'")));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume();
                Ok(vec![String::new()])
            }
            _ => Err(ParseError(format!(
                "found '{literal}', expected: ',', ')' or identifier"
            ))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, ParseError> {
        let mut values = std::collections::BTreeSet::new();
        loop {
            let (token, literal) = self.consume();
            match token {
                Token::Identifier => {
                    values.insert(literal);
                    let (next, next_literal) = self.lookahead();
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values.into_iter().collect()),
                        _ => {
                            return Err(ParseError(format!(
                                "found '{next_literal}', expected: ',' or ')'"
                            )));
                        }
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead();
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values.into_iter().collect());
                    }
                    if next == Token::Comma {
                        self.consume();
                        values.insert(String::new());
                    }
                }
                _ => {
                    return Err(ParseError(format!(
                        "found '{literal}', expected: ',', or identifier"
                    )));
                }
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, ParseError> {
        let (token, _) = self.lookahead();
        if matches!(token, Token::End | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume();
        if token == Token::Identifier {
            return Ok(vec![literal]);
        }
        Err(ParseError(format!(
            "found '{literal}', expected: identifier"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// `Ok(canonical string)` or `Err(Go's message)`.
    fn check(input: &str, expected: Result<&str, &str>) {
        let parsed = LabelSelector::parse(input).map(|s| s.to_string());
        assert_eq!(
            parsed.as_deref().map_err(|e| e.to_string()),
            expected.map_err(str::to_owned),
            "{input:?}"
        );
    }

    #[test]
    fn label_selector_parse_table() {
        check("", Ok(""));
        check("x=a", Ok("x=a"));
        check("x=a,y=b,z=c", Ok("x=a,y=b,z=c"));
        check("z=c,x=a", Ok("x=a,z=c"));
        check("x==a", Ok("x==a"));
        check("x!=a", Ok("x!=a"));
        check(" x = a ", Ok("x=a"));
        check("x=", Ok("x="));
        check("x= ", Ok("x="));
        check("x=,z= ", Ok("x=,z="));
        check("x in (a,b)", Ok("x in (a,b)"));
        check("x in (b,a)", Ok("x in (a,b)"));
        check("x notin (a)", Ok("x notin (a)"));
        check("x in ()", Ok("x in ()"));
        check("x in (,a)", Ok("x in (,a)"));
        check("x in (a,)", Ok("x in (,a)"));
        check("x", Ok("x"));
        check("!x", Ok("!x"));
        check("x>1", Ok("x>1"));
        check("x<1", Ok("x<1"));
        check("x>1,z<5", Ok("x>1,z<5"));
        check("w,x in (a),!y", Ok("w,x in (a),!y"));
        check("example.com/x=a", Ok("example.com/x=a"));
        check("in=notin", Ok("in=notin"));
        check("x=a=b", Err("found '=', expected: ',' or 'end of string'"));
        check(
            "x==a==b",
            Err("found '==', expected: ',' or 'end of string'"),
        );
        check("x=a,", Err("found '', expected: identifier after ','"));
        check(
            ",x=a",
            Err("found ',', expected: !, identifier, or 'end of string'"),
        );
        check("!x=a", Err("found '=', expected: ',' or 'end of string'"));
        check(
            "x in (a",
            Err("unable to parse requirement: found '', expected: ',' or ')'"),
        );
        check(
            "x in a",
            Err("unable to parse requirement: found 'a' expected: '('"),
        );
        check(
            "x in (a b)",
            Err("unable to parse requirement: found 'b', expected: ',' or ')'"),
        );
        check(
            "x in (=)",
            Err("unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        );
        check(
            "x y",
            Err("unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
        );
        check(
            "x=(",
            Err("unable to parse requirement: found '(', expected: identifier"),
        );
        check(
            "=a",
            Err("found '=', expected: !, identifier, or 'end of string'"),
        );
        check(
            "x>a",
            Err(
                "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
        );
        check("x=a b", Err("found 'b', expected: ',' or 'end of string'"));
        check(
            "x=-a",
            Err(
                "unable to parse requirement: values[0][x]: Invalid value: \"-a\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ),
        );
        check(
            "-x=a",
            Err(
                "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ),
        );
        check(
            "x=!",
            Err("unable to parse requirement: found '!', expected: identifier"),
        );
        check("x=a\u{0}y", Ok("x=a"));
    }

    #[test]
    fn label_selector_matches() {
        let set = labels(&[("env", "prod"), ("tier", "web"), ("n", "5")]);
        let cases = [
            ("", true),
            ("env=prod", true),
            ("env==prod", true),
            ("env=dev", false),
            ("env!=dev", true),
            ("missing!=x", true),
            ("env in (dev,prod)", true),
            ("env notin (prod)", false),
            ("missing notin (prod)", true),
            ("env", true),
            ("!env", false),
            ("!missing", true),
            ("n>4", true),
            ("n>5", false),
            ("n<6", true),
            ("env>1", false),
            ("missing<1", false),
            ("env=prod,tier=db", false),
        ];
        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&set), expected, "{selector}");
        }
        assert!(LabelSelector::parse("").unwrap().is_everything());
        assert!(!LabelSelector::parse("a").unwrap().is_everything());
    }

    fn check_fields(input: &str, expected: Result<&str, &str>) {
        let parsed = FieldSelector::parse(input).map(|s| s.to_string());
        assert_eq!(
            parsed.as_deref().map_err(|e| e.to_string()),
            expected.map_err(str::to_owned),
            "{input:?}"
        );
    }

    #[test]
    fn field_selector_parse_table() {
        check_fields("", Ok(""));
        check_fields("metadata.name=x", Ok("metadata.name=x"));
        check_fields("metadata.name==x", Ok("metadata.name=x"));
        check_fields("metadata.name!=x", Ok("metadata.name!=x"));
        check_fields("b=2,a=1", Ok("a=1,b=2"));
        check_fields("a=", Ok("a="));
        check_fields("a=1,", Ok("a=1"));
        check_fields(r"a=x\,y\=z\\", Ok(r"a=x\,y\=z\\"));
        check_fields("a", Err("invalid selector: 'a'; can't understand 'a'"));
        check_fields(
            "a=1,b",
            Err("invalid selector: 'a=1,b'; can't understand 'b'"),
        );
        check_fields(
            r"a=\x",
            Err(r"invalid field selector: invalid escape sequence: \x"),
        );
        check_fields(
            r"a=x\",
            Err(r"invalid field selector: invalid escape sequence: \"),
        );
        check_fields(
            "a=b=c",
            Err("invalid field selector: unescaped character in value: 61"),
        );
    }

    #[test]
    fn field_selector_matches_and_requirements() {
        let fields = labels(&[("metadata.name", "x"), ("metadata.namespace", "ns")]);
        let selector = FieldSelector::parse("metadata.name=x,metadata.namespace!=other").unwrap();
        assert!(selector.matches(&fields));
        assert!(
            !FieldSelector::parse("metadata.name=y")
                .unwrap()
                .matches(&fields)
        );
        assert!(FieldSelector::parse("spec.x=").unwrap().matches(&fields));
        let fields_named: Vec<&str> = selector
            .requirements()
            .iter()
            .map(|r| r.field.as_str())
            .collect();
        assert_eq!(fields_named, ["metadata.name", "metadata.namespace"]);
        assert_eq!(selector.requires_exact_match("metadata.name"), Some("x"));
        assert_eq!(selector.requires_exact_match("metadata.namespace"), None);
        assert_eq!(escape_field_value(r"a,b=c\"), r"a\,b\=c\\");
    }
}
