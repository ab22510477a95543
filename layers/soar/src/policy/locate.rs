//! Line and column of a node in the policy text.
//!
//! serde_yaml_ng reports a position only with an error, at the node being deserialized when the
//! error was raised. So to learn where a node is, we deserialize the text again with a walk that
//! goes down to that node, skipping everything else, and fails there. The lines of all the rules
//! are read in one such walk, by failing on each rule's first key and carrying on.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::convert::Infallible;
use std::fmt;

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// The value of a mapping key (for struct fields, whose keys are unique).
    Key(&'static str),
    /// The value of the n-th entry of a mapping, counted from 0 (for maps whose keys may repeat);
    /// the key is for messages.
    Entry { index: usize, key: String },
    /// The n-th element of a sequence, counted from 0.
    Index(usize),
}

/// The steps from the document root to a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct NodePath(Vec<Step>);

impl NodePath {
    pub(super) fn key(&self, key: &'static str) -> NodePath {
        self.child(Step::Key(key))
    }

    pub(super) fn entry(&self, index: usize, key: &str) -> NodePath {
        self.child(Step::Entry { index, key: key.to_owned() })
    }

    pub(super) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn index(&self, index: usize) -> NodePath {
        self.child(Step::Index(index))
    }

    fn child(&self, step: Step) -> NodePath {
        let mut steps = self.0.clone();
        steps.push(step);
        NodePath(steps)
    }
}

/// Written like serde_yaml_ng writes paths in its messages: `tickets.escalate[1]`.
impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => f.write_str(key)?,
                Step::Entry { key, .. } if i == 0 => f.write_str(key)?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Entry { key, .. } => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based position in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) line: usize,
    pub(super) column: usize,
}

/// Errors without a position (the document ended early) are about the whole document, so they
/// point at its start.
pub(super) const DOCUMENT_START: Position = Position { line: 1, column: 1 };

pub(super) fn position_of(err: &serde_yaml_ng::Error) -> Position {
    err.location().map_or(DOCUMENT_START, |l| Position { line: l.line(), column: l.column() })
}

/// Where the node at `path` starts in `text`. Only called for paths into a document that has
/// already been parsed, so every step exists; if one did not, the position of the deepest node
/// reached is returned.
pub(super) fn locate(text: &str, path: &NodePath) -> Position {
    let walk = Walk { steps: &path.0, arrival: Arrival::Fail };
    match walk.deserialize(serde_yaml_ng::Deserializer::from_str(text)) {
        Err(err) => position_of(&err),
        // `Arrival::Fail` always ends in an error, so this arm is not reached.
        Ok(_) => DOCUMENT_START,
    }
}

/// The line of each element of the sequence at `path`, in one pass over the document (locating
/// them one by one would parse the document once per element). An element's line is the line of
/// its first key; elements that are not mappings, and every element if the pass fails, are
/// located one by one instead.
pub(super) fn element_lines(text: &str, path: &NodePath, count: usize) -> Vec<usize> {
    let walk = Walk { steps: &path.0, arrival: Arrival::ElementLines };
    let found = walk.deserialize(serde_yaml_ng::Deserializer::from_str(text)).unwrap_or_default();
    (0..count)
        .map(|index| match found.get(index) {
            Some(Some(line)) => *line,
            _ => locate(text, &path.index(index)).line,
        })
        .collect()
}

/// What a walk does when it reaches the node at the end of its steps.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    /// Fail there, so the error carries the node's position.
    Fail,
    /// The node is a sequence of mappings: read the line of each one's first key.
    ElementLines,
}

/// Walks `steps` down from the node it is given, then does what `arrival` says. Every node it
/// enters is read to its end, as serde_yaml_ng requires of a visitor that returns normally.
#[derive(Debug, Clone, Copy)]
struct Walk<'a> {
    steps: &'a [Step],
    arrival: Arrival,
}

/// The line of each element, `None` where it could not be read.
type Lines = Vec<Option<usize>>;

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Lines;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Lines, D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn stop<E: de::Error>() -> E {
    E::custom("located")
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Lines;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the node being located")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lines, A::Error> {
        let Some((step, rest)) = self.steps.split_first() else { return Err(stop()) };
        let mut index = 0;
        while let Some(key) = map.next_key::<String>()? {
            let found = match step {
                Step::Key(name) => key == *name,
                Step::Entry { index: wanted, .. } => index == *wanted,
                Step::Index(_) => false,
            };
            if found {
                let lines = map.next_value_seed(Walk { steps: rest, ..self })?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(lines);
            }
            map.next_value::<IgnoredAny>()?;
            index += 1;
        }
        Err(stop())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lines, A::Error> {
        let (wanted, rest) = match (self.steps.split_first(), self.arrival) {
            (Some((Step::Index(wanted), rest)), _) => (*wanted, rest),
            (None, Arrival::ElementLines) => {
                let mut lines = Vec::new();
                while let Some(line) = seq.next_element_seed(FirstKeyLine)? {
                    lines.push(line);
                }
                return Ok(lines);
            }
            _ => return Err(stop()),
        };
        for _ in 0..wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(stop());
            }
        }
        let lines = seq.next_element_seed(Walk { steps: rest, ..self })?.ok_or_else(stop)?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(lines)
    }

    // Scalars end the walk: the default `visit_*` methods for them fail with an invalid-type
    // error, which carries the position just the same.
}

/// Reads a mapping and returns the line of its first key, or `None` for anything else.
///
/// The position comes from an error raised on the key and caught here, which is possible because
/// a failed scalar leaves the parser just past it. Inside a walk the error type is generic, so
/// the line is read from its message (see [`line_in_message`]).
struct FirstKeyLine;

impl<'de> DeserializeSeed<'de> for FirstKeyLine {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstKeyLine {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<usize>, A::Error> {
        let line = match map.next_key_seed(FailingScalar) {
            Ok(None) => return Ok(None),
            Ok(Some(never)) => match never {},
            Err(located) => line_in_message(&located.to_string()),
        };
        map.next_value::<IgnoredAny>()?;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(line)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<usize>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<usize>, E> {
        Ok(None)
    }
}

/// Fails on a scalar after reading it, so the error carries the scalar's position.
struct FailingScalar;

impl<'de> DeserializeSeed<'de> for FailingScalar {
    type Value = Infallible;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Infallible, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FailingScalar {
    type Value = Infallible;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar being located")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Infallible, E> {
        Err(stop())
    }
}

/// The line in a serde_yaml_ng message, which ends with ` at line L column C` when the error
/// has a position (the same numbers as [`serde_yaml_ng::Error::location`]; a unit test pins this).
fn line_in_message(message: &str) -> Option<usize> {
    let (_, position) = message.rsplit_once(" at line ")?;
    let (line, _) = position.split_once(" column ")?;
    line.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
a: 1
b:
  - x
  - {c: 2, d: [3, 4]}
e:
  k: v
  k: w
";

    fn at(path: NodePath) -> (usize, usize) {
        let p = locate(TEXT, &path);
        (p.line, p.column)
    }

    #[test]
    fn finds_keys_entries_and_elements() {
        let root = NodePath::default();
        assert_eq!(at(root.clone()), (1, 1));
        assert_eq!(at(root.key("a")), (1, 4));
        assert_eq!(at(root.key("b")), (3, 3));
        assert_eq!(at(root.key("b").index(0)), (3, 5));
        assert_eq!(at(root.key("b").index(1)), (4, 5));
        assert_eq!(at(root.key("b").index(1).key("d").index(1)), (4, 19));
        assert_eq!(at(root.key("e").entry(0, "k")), (6, 6));
        assert_eq!(at(root.key("e").entry(1, "k")), (7, 6));
    }

    #[test]
    fn paths_display_like_serde_yaml_paths() {
        let root = NodePath::default();
        assert!(root.is_root());
        assert_eq!(root.to_string(), "");
        assert_eq!(root.key("b").index(1).key("d").index(0).to_string(), "b[1].d[0]");
        assert_eq!(root.key("e").entry(1, "k").to_string(), "e.k");
        assert_eq!(root.index(2).to_string(), "[2]");
    }

    #[test]
    fn element_lines_agree_with_locating_each_element() {
        let text = "\
list:
  - a: 1
    b: 2
  # a comment with - c: 3
  - {c: 3, d: [1,
      2]}
  -
    e: 5

  - plain scalar
  - &anchored {f: 6}
  - [g, h]
  - {}
  - \"i\": |
      - j: 7
    k: 8
other: x
";
        let list = NodePath::default().key("list");
        let one_by_one: Vec<usize> = (0..8).map(|i| locate(text, &list.index(i)).line).collect();
        assert_eq!(one_by_one, [2, 5, 8, 10, 11, 12, 13, 14]);
        assert_eq!(element_lines(text, &list, 8), one_by_one);
        let walk = Walk { steps: &list.0, arrival: Arrival::ElementLines };
        let read = walk.deserialize(serde_yaml_ng::Deserializer::from_str(text)).unwrap();
        // Mappings are read in the one pass; the others are left to `locate`.
        assert_eq!(read, [Some(2), Some(5), Some(8), None, Some(11), None, None, Some(14)]);
    }

    #[test]
    fn the_line_in_a_message_is_the_location_of_the_error() {
        let err = serde_yaml_ng::from_str::<std::collections::BTreeMap<String, u8>>("a: 1\n\nb: x\n").unwrap_err();
        assert_eq!(line_in_message(&err.to_string()), Some(err.location().unwrap().line()));
        assert_eq!(line_in_message(&err.to_string()), Some(3));
        assert_eq!(line_in_message("no position"), None);
    }

    #[test]
    fn a_missing_step_stops_at_the_deepest_node_reached() {
        let root = NodePath::default();
        assert_eq!(at(root.key("b").index(7)), (3, 3));
        assert_eq!(at(root.key("zzz")), (1, 1));
    }
}
