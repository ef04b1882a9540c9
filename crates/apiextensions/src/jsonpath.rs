//! The JSONPath dialect of `k8s.io/client-go/util/jsonpath` that printer
//! columns and selectable fields are written in: one `{…}` action of
//! fields (`.spec.replicas`, `['a.b']`), indexes and slices (`[0]`,
//! `[-1]`, `[1:3]`, `[*]`), wildcards (`.*`), recursive descent
//! (`..name`), unions (`[0,2]`) and filters
//! (`[?(@.type=="Ready")]`, `[?(@.ready)]`), evaluated with missing keys
//! allowed as the table convertor does. `range`/`end` are not supported
//! (no column uses them); they evaluate to an error, which a column shows
//! as an empty cell.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::gofmt;

/// A parsed JSONPath expression (the inside of `{…}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Field(String),
    Array([Param; 3]),
    Filter {
        left: Vec<Node>,
        right: Vec<Node>,
        operator: String,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Wildcard,
    Recursive,
    Union(Vec<Vec<Node>>),
    Identifier(String),
}

/// One of `start:end:step` (Go: `ParamsEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Param {
    value: i64,
    known: bool,
    derived: bool,
}

type Item<'a> = Cow<'a, Value>;

static DICT_KEY: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern; it compiles.
    Regex::new(r"^'([^']*)'$").unwrap()
});
static SLICE: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern; it compiles.
    Regex::new(r"^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$").unwrap()
});
static COMPARISON: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern; it compiles.
    Regex::new(r"^([^!<>=]+)([!<>=]+)(.+?)$").unwrap()
});

impl JsonPath {
    /// Parses `expression` as Go parses `{expression}`; text after a
    /// closing `}` is ignored (Go's column reads only the first action).
    pub(crate) fn parse(expression: &str) -> Result<Self, String> {
        let nodes = Parser::new(expression).parse_action()?;
        Ok(Self { nodes })
    }

    /// The values the expression selects in `data` (Go: the first list of
    /// `FindResults` with `AllowMissingKeys(true)`).
    pub(crate) fn find<'a>(&self, data: &'a Value) -> Result<Vec<Item<'a>>, String> {
        eval_list(vec![Cow::Borrowed(data)], &self.nodes)
    }
}

struct Parser {
    input: Vec<char>,
    pos: usize,
}

impl Parser {
    /// A parser for one action; the closing `}` is supplied.
    fn new(action: &str) -> Self {
        let mut input: Vec<char> = action.chars().collect();
        input.push('}');
        Self { input, pos: 0 }
    }

    fn next(&mut self) -> Option<char> {
        let r = self.input.get(self.pos).copied();
        if r.is_some() {
            self.pos += 1;
        }
        r
    }

    fn peek(&self) -> Option<char> {
        self.input.get(self.pos).copied()
    }

    fn starts_with(&self, prefix: &str) -> bool {
        (self.pos..)
            .zip(prefix.chars())
            .all(|(at, c)| self.input.get(at) == Some(&c))
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.input[from..to].iter().collect()
    }

    /// Go: `parseInsideAction` until the closing `}`.
    fn parse_action(&mut self) -> Result<Vec<Node>, String> {
        let mut nodes = Vec::new();
        loop {
            if self.starts_with("}") {
                self.pos += 1;
                return Ok(nodes);
            }
            if self.starts_with("[?(") {
                self.parse_filter(&mut nodes)?;
                continue;
            }
            if self.starts_with("..") {
                if matches!(nodes.last(), Some(Node::Recursive)) {
                    return Err("invalid multiple recursive descent".to_owned());
                }
                self.pos += 2;
                nodes.push(Node::Recursive);
                if self.peek().is_some_and(is_alphanumeric) {
                    self.parse_field(&mut nodes);
                }
                continue;
            }
            match self.next() {
                None | Some('\r' | '\n') => return Err("unclosed action".to_owned()),
                Some(' ' | '@' | '$') => {}
                Some('[') => self.parse_array(&mut nodes)?,
                Some(quote @ ('"' | '\'')) => self.parse_quote(&mut nodes, quote)?,
                Some('.') => self.parse_field(&mut nodes),
                Some(c) if c == '+' || c == '-' || c.is_ascii_digit() => {
                    self.pos -= 1;
                    self.parse_number(&mut nodes)?;
                }
                Some(c) if is_alphanumeric(c) => {
                    self.pos -= 1;
                    self.parse_identifier(&mut nodes);
                }
                Some(c) => {
                    return Err(format!(
                        "unrecognized character in action: U+{:04X} '{c}'",
                        u32::from(c)
                    ));
                }
            }
        }
    }

    fn parse_field(&mut self, nodes: &mut Vec<Node>) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.pos += 1;
                if self.peek().is_some() {
                    self.pos += 1;
                }
            } else if is_terminator(c) {
                break;
            } else {
                self.pos += 1;
            }
        }
        let value = self.text(start, self.pos);
        if value == "*" {
            nodes.push(Node::Wildcard);
        } else {
            nodes.push(Node::Field(value.replace('\\', "")));
        }
    }

    fn parse_number(&mut self, nodes: &mut Vec<Node>) -> Result<(), String> {
        let start = self.pos;
        if matches!(self.peek(), Some('+' | '-')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c == '.' || c.is_ascii_digit()) {
            self.pos += 1;
        }
        let value = self.text(start, self.pos);
        if let Ok(i) = value.parse::<i64>() {
            nodes.push(Node::Int(i));
        } else if let Ok(f) = value.parse::<f64>() {
            nodes.push(Node::Float(f));
        } else {
            return Err(format!("cannot parse number {value}"));
        }
        Ok(())
    }

    fn parse_identifier(&mut self, nodes: &mut Vec<Node>) {
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_terminator(c)) {
            self.pos += 1;
        }
        let value = self.text(start, self.pos);
        match value.as_str() {
            "true" => nodes.push(Node::Bool(true)),
            "false" => nodes.push(Node::Bool(false)),
            _ => nodes.push(Node::Identifier(value)),
        }
    }

    fn parse_quote(&mut self, nodes: &mut Vec<Node>, quote: char) -> Result<(), String> {
        let start = self.pos - 1;
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".to_owned()),
                Some(c) if c == quote && self.input[self.pos - 2] != '\\' => break,
                Some(_) => {}
            }
        }
        let raw = self.text(start, self.pos);
        let unquoted =
            unquote(&raw).ok_or_else(|| format!("unquote string {raw} error invalid syntax"))?;
        nodes.push(Node::Text(unquoted));
        Ok(())
    }

    fn parse_array(&mut self, nodes: &mut Vec<Node>) -> Result<(), String> {
        let start = self.pos;
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".to_owned()),
                Some(']') => break,
                Some(_) => {}
            }
        }
        let mut text = self.text(start, self.pos - 1);
        if text == "*" {
            text = ":".to_owned();
        }
        let parts: Vec<&str> = text.split(',').collect();
        if parts.len() > 1 {
            let mut union = Vec::new();
            for part in parts {
                union.push(Parser::new(&format!("[{}]", part.trim_matches(' '))).parse_action()?);
            }
            nodes.push(Node::Union(union));
            return Ok(());
        }
        if let Some(captures) = DICT_KEY.captures(&text) {
            let key = captures.get(1).map_or("", |m| m.as_str());
            nodes.extend(Parser::new(&format!(".{key}")).parse_action()?);
            return Ok(());
        }
        let Some(captures) = SLICE.captures(&text) else {
            return Err(format!("invalid array index {text}"));
        };
        let mut params = [Param::default(); 3];
        for i in 0..3 {
            let mut value = captures.get(i + 1).map_or("", |m| m.as_str());
            if value.is_empty() {
                if i == 1 {
                    params[1] = Param {
                        value: params[0].value + 1,
                        known: true,
                        derived: true,
                    };
                }
                continue;
            }
            if i > 0 {
                value = &value[1..];
                if value.is_empty() {
                    continue;
                }
            }
            let parsed = value
                .parse::<i64>()
                .map_err(|_| format!("array index {value} is not a number"))?;
            params[i] = Param {
                value: parsed,
                known: true,
                derived: false,
            };
        }
        nodes.push(Node::Array(params));
        Ok(())
    }

    fn parse_filter(&mut self, nodes: &mut Vec<Node>) -> Result<(), String> {
        self.pos += 3;
        let start = self.pos;
        let (mut begin, mut end) = (false, false);
        let mut pair = '"';
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated filter".to_owned()),
                Some(c @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = c;
                        continue;
                    }
                    if self.input[self.pos - 2] != '\\' && c == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                Some(_) => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".to_owned());
        }
        let text = self.text(start, self.pos - 2);
        match COMPARISON.captures(&text) {
            None => nodes.push(Node::Filter {
                left: Parser::new(&text).parse_action()?,
                right: Vec::new(),
                operator: "exists".to_owned(),
            }),
            Some(captures) => {
                let part = |i: usize| captures.get(i).map_or("", |m| m.as_str());
                nodes.push(Node::Filter {
                    left: Parser::new(part(1)).parse_action()?,
                    right: Parser::new(part(3)).parse_action()?,
                    operator: part(2).to_owned(),
                });
            }
        }
        Ok(())
    }
}

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
    )
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Go's `UnquoteExtend`: a single- or double-quoted string with Go escapes.
fn unquote(raw: &str) -> Option<String> {
    let mut chars = raw.chars();
    let quote = chars.next()?;
    if !matches!(quote, '"' | '\'') || !raw.ends_with(quote) || raw.chars().count() < 2 {
        return None;
    }
    let inner: Vec<char> = raw[1..raw.len() - 1].chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = *inner.get(i)?;
        i += 1;
        match escaped {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' | '\'' | '"' => out.push(escaped),
            'x' | 'u' | 'U' => {
                let len = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = inner.get(i..i + len)?.iter().collect();
                i += len;
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn eval_list<'a>(input: Vec<Item<'a>>, nodes: &[Node]) -> Result<Vec<Item<'a>>, String> {
    let mut current = input;
    for node in nodes {
        current = walk(current, node)?;
    }
    Ok(current)
}

fn walk<'a>(input: Vec<Item<'a>>, node: &Node) -> Result<Vec<Item<'a>>, String> {
    match node {
        Node::Text(text) => Ok(vec![Cow::Owned(Value::String(text.clone()))]),
        Node::Int(i) => Ok(literal(&input, Value::from(*i))),
        Node::Float(f) => Ok(literal(&input, Value::from(*f))),
        Node::Bool(b) => Ok(literal(&input, Value::Bool(*b))),
        Node::Field(name) => Ok(input
            .iter()
            .filter_map(|item| child(item, |v| v.as_object().and_then(|m| m.get(name))))
            .collect()),
        Node::Array(params) => eval_array(input, params),
        Node::Filter {
            left,
            right,
            operator,
        } => eval_filter(input, left, right, operator),
        Node::Wildcard => Ok(input.iter().flat_map(children).collect()),
        Node::Recursive => Ok(eval_recursive(input)),
        Node::Union(lists) => {
            let mut out = Vec::new();
            for list in lists {
                out.extend(eval_list(input.clone(), list)?);
            }
            Ok(out)
        }
        Node::Identifier(name) => Err(format!("unrecognized identifier {name}")),
    }
}

fn literal<'a>(input: &[Item<'a>], value: Value) -> Vec<Item<'a>> {
    input.iter().map(|_| Cow::Owned(value.clone())).collect()
}

/// A child of `item` found by `get`, borrowed when `item` is.
fn child<'a>(item: &Item<'a>, get: impl Fn(&Value) -> Option<&Value>) -> Option<Item<'a>> {
    match item {
        Cow::Borrowed(value) => get(value).map(Cow::Borrowed),
        Cow::Owned(value) => get(value).map(|v| Cow::Owned(v.clone())),
    }
}

/// An object's values (by key) or an array's elements.
fn children<'a>(item: &Item<'a>) -> Vec<Item<'a>> {
    let count = match item.as_ref() {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    (0..count)
        .filter_map(|i| {
            child(item, |v| match v {
                Value::Object(map) => map.values().nth(i),
                Value::Array(items) => items.get(i),
                _ => None,
            })
        })
        .collect()
}

fn eval_recursive(input: Vec<Item<'_>>) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    for item in input {
        let kids = children(&item);
        if !kids.is_empty() {
            out.push(item);
            out.extend(eval_recursive(kids));
        }
    }
    out
}

fn eval_array<'a>(input: Vec<Item<'a>>, params: &[Param; 3]) -> Result<Vec<Item<'a>>, String> {
    let mut out = Vec::new();
    for item in &input {
        let items = match item.as_ref() {
            Value::Null => continue,
            Value::Array(items) => items,
            other => return Err(format!("{} is not array or slice", gofmt::type_name(other))),
        };
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let mut start = if params[0].known { params[0].value } else { 0 };
        if start < 0 {
            start += len;
        }
        let mut end = if params[1].known {
            params[1].value
        } else {
            len
        };
        if end < 0 || (end == 0 && params[1].derived) {
            end += len;
        }
        if end == start {
            return Ok(out);
        }
        if start >= len || start < 0 {
            return Err(format!(
                "array index out of bounds: index {start}, length {len}"
            ));
        }
        if end > len || end < 0 {
            return Err(format!(
                "array index out of bounds: index {}, length {len}",
                end - 1
            ));
        }
        if start > end {
            return Err(format!(
                "starting index {start} is greater than ending index {end}"
            ));
        }
        let step = if params[2].known {
            if params[2].value <= 0 {
                return Err("step must be > 0".to_owned());
            }
            params[2].value
        } else {
            1
        };
        let mut i = start;
        while i < end {
            // start and end are within 0..=len here.
            let index = usize::try_from(i).unwrap_or(usize::MAX);
            if let Some(element) = child(item, |v| v.as_array().and_then(|a| a.get(index))) {
                out.push(element);
            }
            i += step;
        }
    }
    Ok(out)
}

fn eval_filter<'a>(
    input: Vec<Item<'a>>,
    left: &[Node],
    right: &[Node],
    operator: &str,
) -> Result<Vec<Item<'a>>, String> {
    let mut out = Vec::new();
    for item in &input {
        let Value::Array(items) = item.as_ref() else {
            return Err(format!(
                "{} is not array or slice and cannot be filtered",
                gofmt::value(item)
            ));
        };
        for index in 0..items.len() {
            let Some(element) = child(item, |v| v.as_array().and_then(|a| a.get(index))) else {
                continue;
            };
            let lefts = eval_list(vec![element.clone()], left);
            if operator == "exists" {
                if lefts.is_ok_and(|l| !l.is_empty()) {
                    out.push(element);
                }
                continue;
            }
            let Some(left_value) = single(lefts?)? else {
                continue;
            };
            let Some(right_value) = single(eval_list(vec![element.clone()], right)?)? else {
                continue;
            };
            if compare(operator, &left_value, &right_value)? {
                out.push(element);
            }
        }
    }
    Ok(out)
}

fn single(values: Vec<Item<'_>>) -> Result<Option<Value>, String> {
    match values.len() {
        0 => Ok(None),
        1 => Ok(values.into_iter().next().map(Cow::into_owned)),
        _ => Err("can only compare one element at a time".to_owned()),
    }
}

/// A value's kind for Go template comparisons.
#[derive(Debug, Clone, PartialEq)]
enum Basic {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

fn basic(value: &Value) -> Result<Basic, String> {
    match value {
        Value::Bool(b) => Ok(Basic::Bool(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Basic::Int(i))
            } else if let Some(u) = n.as_u64() {
                Ok(Basic::Uint(u))
            } else {
                Ok(Basic::Float(n.as_f64().unwrap_or_default()))
            }
        }
        Value::String(s) => Ok(Basic::Str(s.clone())),
        _ => Err("invalid type for comparison".to_owned()),
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";

fn equal(a: &Basic, b: &Basic) -> Result<bool, String> {
    Ok(match (a, b) {
        (Basic::Bool(x), Basic::Bool(y)) => x == y,
        (Basic::Int(x), Basic::Int(y)) => x == y,
        (Basic::Uint(x), Basic::Uint(y)) => x == y,
        (Basic::Float(x), Basic::Float(y)) => x == y,
        (Basic::Str(x), Basic::Str(y)) => x == y,
        (Basic::Int(x), Basic::Uint(y)) | (Basic::Uint(y), Basic::Int(x)) => {
            u64::try_from(*x).is_ok_and(|x| x == *y)
        }
        _ => return Err(INCOMPATIBLE.to_owned()),
    })
}

fn less(a: &Basic, b: &Basic) -> Result<bool, String> {
    Ok(match (a, b) {
        (Basic::Bool(_), Basic::Bool(_)) => return Err("invalid type for comparison".to_owned()),
        (Basic::Int(x), Basic::Int(y)) => x < y,
        (Basic::Uint(x), Basic::Uint(y)) => x < y,
        (Basic::Float(x), Basic::Float(y)) => x < y,
        (Basic::Str(x), Basic::Str(y)) => x < y,
        (Basic::Int(x), Basic::Uint(y)) => u64::try_from(*x).map_or(true, |x| x < *y),
        (Basic::Uint(x), Basic::Int(y)) => u64::try_from(*y).is_ok_and(|y| *x < y),
        _ => return Err(INCOMPATIBLE.to_owned()),
    })
}

/// Go: the template functions `eq`, `ne`, `lt`, `gt`, `le`, `ge`.
fn compare(operator: &str, left: &Value, right: &Value) -> Result<bool, String> {
    let (a, b) = (basic(left)?, basic(right)?);
    match operator {
        "==" => equal(&a, &b),
        "!=" => equal(&a, &b).map(|eq| !eq),
        "<" => less(&a, &b),
        "<=" => Ok(less(&a, &b)? || equal(&a, &b)?),
        ">" => Ok(!(less(&a, &b)? || equal(&a, &b)?)),
        ">=" => less(&a, &b).map(|lt| !lt),
        other => Err(format!("unrecognized filter operator {other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod() -> Value {
        json!({
            "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {
                "replicas": 3,
                "ratio": 0.5,
                "items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}],
                "nothing": null,
            },
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Synced", "status": "False", "extra": {"x": "y"}},
                ],
            },
        })
    }

    fn check(expression: &str, expected: Result<Value, &str>) {
        let data = pod();
        let found = JsonPath::parse(expression).and_then(|path| {
            path.find(&data)
                .map(|values| Value::Array(values.into_iter().map(Cow::into_owned).collect()))
        });
        assert_eq!(found, expected.map_err(str::to_owned), "{expression}");
    }

    #[test]
    fn fields_indexes_and_slices() {
        check(".spec.replicas", Ok(json!([3])));
        check("$.spec.replicas", Ok(json!([3])));
        check(".spec.missing", Ok(json!([])));
        check(".spec.nothing", Ok(json!([null])));
        check(".spec.nothing.deeper", Ok(json!([])));
        check(".spec.items[0].name", Ok(json!(["a"])));
        check(".spec.items[-1].name", Ok(json!(["c"])));
        check(".spec.items[*].name", Ok(json!(["a", "b", "c"])));
        check(".spec.items[0:2].n", Ok(json!([1, 2])));
        check(".spec.items[::2].n", Ok(json!([1, 3])));
        check(".spec.items[0,2].n", Ok(json!([1, 3])));
        check(
            ".spec.items[5].n",
            Err("array index out of bounds: index 5, length 3"),
        );
        check(".spec.replicas[0]", Err("int64 is not array or slice"));
        check(
            ".metadata.labels['app.kubernetes.io/name']",
            Ok(json!([])), // Go splits the quoted key at dots
        );
        check(
            r".metadata.labels.app\.kubernetes\.io/name",
            Ok(json!(["web"])),
        );
        check(
            ".metadata.*",
            Ok(json!([{"app.kubernetes.io/name": "web"}, "web"])),
        );
    }

    #[test]
    fn filters() {
        check(
            r#".status.conditions[?(@.type=="Ready")].status"#,
            Ok(json!(["True"])),
        );
        check(
            r#".status.conditions[?(@.type == 'Synced')].status"#,
            Ok(json!(["False"])),
        );
        check(
            r#".status.conditions[?(@.type!="Ready")].type"#,
            Ok(json!(["Synced"])),
        );
        check(".status.conditions[?(@.extra)].type", Ok(json!(["Synced"])));
        check(".spec.items[?(@.n>1)].name", Ok(json!(["b", "c"])));
        check(".spec.items[?(@.n<=2)].name", Ok(json!(["a", "b"])));
        check(
            ".spec.items[?(@.n==1.0)].name",
            Err("incompatible types for comparison"),
        );
        check(
            ".spec[?(@.n==1)]",
            Err(
                "map[items:[map[n:1 name:a] map[n:2 name:b] map[n:3 name:c]] nothing:<nil> ratio:0.5 replicas:3] is not array or slice and cannot be filtered",
            ),
        );
    }

    #[test]
    fn recursive_descent() {
        check("..name", Ok(json!(["web", "a", "b", "c"])));
    }

    #[test]
    fn parse_errors() {
        check(".spec[", Err("unterminated array"));
        check(".spec[x]", Err("invalid array index x"));
        check(".spec.#", Ok(json!([]))); // '#' is part of the field name
        check(
            ".spec #",
            Err("unrecognized character in action: U+0023 '#'"),
        );
        check(".spec[?(@.a", Err("unterminated filter"));
        check("..a..", Ok(json!([])));
        check("range", Err("unrecognized identifier range"));
    }
}
