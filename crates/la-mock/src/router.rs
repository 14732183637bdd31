//! Matching a method and a path against the operations of the description.
//!
//! Literal segments win over placeholders (`/agents/_by_email` before `/agents/{userId}`), and a
//! trailing slash is ignored on both sides.

use std::collections::HashMap;

use http::Method;

use crate::spec::{Segment, SpecIndex, split_path};

/// The outcome of matching a request.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// An operation matched; the path parameters are percent-decoded.
    Found {
        /// Index into [`SpecIndex::operations`].
        op: usize,
        /// Path parameter values by name.
        params: Vec<(String, String)>,
    },
    /// The path exists but not with this method.
    MethodNotAllowed {
        /// The methods the path accepts.
        allowed: Vec<Method>,
    },
    /// No path matches.
    NotFound,
}

/// A path template with the operations sharing it.
#[derive(Debug)]
struct Template {
    segments: Vec<Segment>,
    ops: Vec<(Method, usize)>,
}

/// A matcher over all paths of the description.
#[derive(Debug)]
pub struct Router {
    /// Templates grouped by segment count, most specific first.
    by_len: HashMap<usize, Vec<Template>>,
}

impl Router {
    /// Builds the matcher for every operation of the index.
    pub fn new(spec: &SpecIndex) -> Self {
        let mut templates: Vec<Template> = Vec::new();
        for (i, op) in spec.operations.iter().enumerate() {
            match templates.iter_mut().find(|t| t.segments == op.segments) {
                Some(t) => t.ops.push((op.method.clone(), i)),
                None => templates.push(Template {
                    segments: op.segments.clone(),
                    ops: vec![(op.method.clone(), i)],
                }),
            }
        }
        let mut by_len: HashMap<usize, Vec<Template>> = HashMap::new();
        for t in templates {
            by_len.entry(t.segments.len()).or_default().push(t);
        }
        for list in by_len.values_mut() {
            // Literal segments sort before placeholders, position by position.
            list.sort_by_key(|t| {
                t.segments
                    .iter()
                    .map(|s| matches!(s, Segment::Param(_)))
                    .collect::<Vec<bool>>()
            });
        }
        Self { by_len }
    }

    /// Matches a path relative to the base path (e.g. `/tickets/5`).
    pub fn find(&self, method: &Method, path: &str) -> RouteMatch {
        let parts: Vec<&str> = split_path(path).collect();
        let Some(candidates) = self.by_len.get(&parts.len()) else {
            return RouteMatch::NotFound;
        };
        let mut allowed: Option<Vec<Method>> = None;
        for t in candidates {
            let matches = t.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                Segment::Literal(lit) => lit == part,
                Segment::Param(_) => !part.is_empty(),
            });
            if !matches {
                continue;
            }
            if let Some(&(_, op)) = t.ops.iter().find(|(m, _)| m == method) {
                let params = t
                    .segments
                    .iter()
                    .zip(&parts)
                    .filter_map(|(seg, part)| match seg {
                        Segment::Param(name) => Some((name.clone(), percent_decode(part))),
                        Segment::Literal(_) => None,
                    })
                    .collect();
                return RouteMatch::Found { op, params };
            }
            if allowed.is_none() {
                allowed = Some(t.ops.iter().map(|(m, _)| m.clone()).collect());
            }
        }
        match allowed {
            Some(allowed) => RouteMatch::MethodNotAllowed { allowed },
            None => RouteMatch::NotFound,
        }
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
