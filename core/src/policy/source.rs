//! Policy source text to a located tree.
//!
//! YAML and JSON are both read through `yaml-rust2`'s event parser (JSON is
//! YAML 1.2 flow syntax), so every node keeps its line and column and every
//! diagnostic can point at the key at fault. `serde_yaml` would lose those
//! positions and silently keep the last of two duplicate keys; here duplicate
//! keys, anchors/aliases (billion-laughs) and excessive nesting are errors.

use crate::error::Diagnostic;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting accepted in a policy document.
pub const MAX_DEPTH: usize = 64;
/// Largest policy source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

/// A value with the place it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The value.
    pub value: NodeValue,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// Any other scalar, including every quoted one.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are unique.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Node {
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a map",
        }
    }

    /// The entries when this is a map.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Scalar text (strings, numbers and booleans as written).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(f) => Some(f.to_string()),
            NodeValue::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Converts to JSON (for inline capabilities and tests).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect()),
        }
    }

    /// Builds a located tree from JSON (positions unknown: line 0).
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value;
        let value = match v {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None => NodeValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => NodeValue::Str(s.clone()),
            Value::Array(a) => NodeValue::Seq(a.iter().map(Node::from_json).collect()),
            Value::Object(o) => NodeValue::Map(
                o.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                line: 0,
                                column: 0,
                            },
                            Node::from_json(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node {
            line: 0,
            column: 0,
            value,
        }
    }
}

enum Frame {
    Seq(Marker, Vec<Node>),
    Map(Marker, Vec<(Key, Node)>, Option<Key>),
}

struct Builder<'f> {
    file: &'f str,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    errors: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn err(&mut self, mark: Marker, key: &str, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            file: self.file.to_string(),
            line: mark.line(),
            column: mark.col() + 1,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                None => {
                    let name = match &node.value {
                        NodeValue::Str(s) => s.clone(),
                        _ => match node.scalar_text() {
                            Some(t) => t,
                            None => {
                                self.errors.push(Diagnostic {
                                    file: self.file.to_string(),
                                    line: node.line,
                                    column: node.column,
                                    key: String::new(),
                                    message: "a map key must be a plain scalar".into(),
                                });
                                "<invalid>".into()
                            }
                        },
                    };
                    let key = Key {
                        name,
                        line: node.line,
                        column: node.column,
                    };
                    if entries.iter().any(|(k, _)| k.name == key.name) {
                        let (line, column, name) = (key.line, key.column, key.name.clone());
                        self.errors.push(Diagnostic {
                            file: self.file.to_string(),
                            line,
                            column,
                            key: name.clone(),
                            message: format!("duplicate key `{name}`"),
                        });
                    }
                    // Re-borrow after the possible error push.
                    if let Some(Frame::Map(_, _, pending)) = self.stack.last_mut() {
                        *pending = Some(key);
                    }
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

fn scalar(text: String, style: TScalarStyle) -> NodeValue {
    if style != TScalarStyle::Plain {
        return NodeValue::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    let looks_numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.');
    if looks_numeric {
        if let Ok(i) = text.parse::<i64>() {
            return NodeValue::Int(i);
        }
        if let Ok(f) = text.parse::<f64>() {
            if f.is_finite() {
                return NodeValue::Float(f);
            }
        }
    }
    NodeValue::Str(text)
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let (line, column) = (mark.line(), mark.col() + 1);
        match ev {
            Event::Alias(_) => self.err(mark, "", "YAML aliases are not supported in policies; repeat the value"),
            Event::Scalar(text, style, anchor, _) => {
                if anchor != 0 {
                    self.err(mark, "", "YAML anchors are not supported in policies");
                }
                self.push_value(Node {
                    line,
                    column,
                    value: scalar(text, style),
                });
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.err(mark, "", format!("nesting deeper than {MAX_DEPTH} levels"));
                }
                self.stack.push(match ev {
                    Event::SequenceStart(..) => Frame::Seq(mark, Vec::new()),
                    _ => Frame::Map(mark, Vec::new(), None),
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(m, items)) = self.stack.pop() {
                    self.push_value(Node {
                        line: m.line(),
                        column: m.col() + 1,
                        value: NodeValue::Seq(items),
                    });
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(m, entries, _)) = self.stack.pop() {
                    self.push_value(Node {
                        line: m.line(),
                        column: m.col() + 1,
                        value: NodeValue::Map(entries),
                    });
                }
            }
            _ => {}
        }
    }
}

/// The likely cause of a YAML error at `line` (or the line before): a quoted value followed by more
/// text, as in the article's `ifRateLimit: "100/hour" not exceeded`; names both valid spellings.
fn quoted_then_text(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    [line, line.saturating_sub(1)].into_iter().find_map(|n| {
        let l = *lines.get(n.checked_sub(1)?)?;
        let (key, value) = l.trim_start().trim_start_matches("- ").split_once(": ")?;
        let value = value.trim();
        let q = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let end = value[1..].find(q)? + 1;
        let (quoted, rest) = (&value[1..end], value[end + 1..].trim());
        (!rest.is_empty() && !rest.starts_with('#')).then(|| {
            format!(
                "; a quoted value cannot be followed by more text (`{rest}`): write `{key}: {q}{quoted}{q}` \
                 or `{key}: {quoted} {rest}`"
            )
        })
    })
}

/// The likely cause of a YAML structure error on `line` (1-based): a tab in the indentation, or an
/// indentation that lines up with none of the blocks around it.
fn indentation_hint(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = *lines.get(line.checked_sub(1)?)?;
    let lead = &here[..here.len() - here.trim_start().len()];
    if lead.contains('\t') {
        return Some(format!(
            "; line {line} is indented with a tab: YAML indentation must be spaces"
        ));
    }
    let indent = lead.len();
    let code = |l: &&&str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let mut above = lines[..line - 1].iter().rev().filter(code);
    let prev = above.next()?;
    let prev_indent = prev.len() - prev.trim_start().len();
    // The blocks this line could belong to: the previous line's, then each shallower one above it.
    let mut levels = vec![prev_indent];
    for l in above {
        let i = l.len() - l.trim_start().len();
        if i < levels[levels.len() - 1] {
            levels.push(i);
        }
    }
    let opens_block = prev.trim_end().ends_with(':') || prev.trim_start().starts_with("- ");
    if levels.contains(&indent) || (indent > prev_indent && opens_block) {
        return None;
    }
    let levels: Vec<String> = levels.iter().map(usize::to_string).collect();
    Some(format!(
        "; line {line} is indented by {indent} spaces, which lines up with no block around it (those are at {} \
         spaces): align it with the key it belongs beside",
        levels.join(", ")
    ))
}

/// Parses YAML or JSON source into one node per document.
pub fn parse_documents(file: &str, text: &str) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let diag = |line, column, message: String| Diagnostic {
        file: file.into(),
        line,
        column,
        key: String::new(),
        message,
    };
    if text.len() > MAX_SOURCE_BYTES {
        return Err(vec![diag(
            0,
            0,
            format!("policy source is over {MAX_SOURCE_BYTES} bytes"),
        )]);
    }
    if file.ends_with(".json") {
        // serde_json's errors are clearer for JSON syntax mistakes; it also checks strict JSON.
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            return Err(vec![diag(e.line(), e.column(), format!("invalid JSON: {e}"))]);
        }
    }
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        docs: Vec::new(),
        errors: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        let hint = quoted_then_text(text, m.line())
            .or_else(|| indentation_hint(text, m.line()))
            .unwrap_or_default();
        return Err(vec![diag(
            m.line(),
            m.col() + 1,
            format!("invalid YAML: {}{hint}", e.info()),
        )]);
    }
    if builder.errors.is_empty() {
        Ok(builder.docs)
    } else {
        Err(builder.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_types() {
        let docs = parse_documents("p.yaml", "a: 1\nb:\n  - x\n  - 2.5\n  - \"3\"\nc: ~\n").unwrap();
        let m = docs[0].as_map().unwrap();
        assert_eq!(m[0].0.name, "a");
        assert_eq!(m[0].1.value, NodeValue::Int(1));
        assert_eq!(m[1].0.line, 2);
        let NodeValue::Seq(items) = &m[1].1.value else { panic!() };
        assert_eq!(items[0].value, NodeValue::Str("x".into()));
        assert_eq!(items[0].line, 3);
        assert_eq!(items[1].value, NodeValue::Float(2.5));
        assert_eq!(items[2].value, NodeValue::Str("3".into()));
        assert_eq!(m[2].1.value, NodeValue::Null);
    }

    #[test]
    fn rejects_duplicates_aliases_and_syntax_errors_with_lines() {
        let e = parse_documents("p.yaml", "a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e[0].line, e[0].key.as_str()), (3, "a"));
        let e = parse_documents("p.yaml", "a: &x [1]\nb: *x\n").unwrap_err();
        assert!(e.iter().any(|d| d.message.contains("aliases")));
        let e = parse_documents("p.yaml", "a: [1,\n").unwrap_err();
        assert!(e[0].message.contains("invalid YAML"));
        let e = parse_documents("p.json", "{\"a\": 1,}").unwrap_err();
        assert!(e[0].message.contains("invalid JSON"));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_documents("p.yaml", &deep).is_err());
    }

    #[test]
    fn reads_json_and_multiple_documents() {
        let docs = parse_documents("p.json", "{\"agent\": \"x\", \"n\": [1, 2.0]}").unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].to_json(), serde_json::json!({"agent": "x", "n": [1, 2.0]}));
        let docs = parse_documents("p.yaml", "a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
