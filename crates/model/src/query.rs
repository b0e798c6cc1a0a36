//! The typed query: `where`, `order`, `limit`, `skip`, `count`, `keys`, `excludeKeys`, `include`
//! and `redirectClassNameForKey` parsed from request parameters, and the matcher and ordering the
//! in-memory read model evaluates them with.
//!
//! Some constraints need other data to be evaluated: sub-queries (`$inQuery`, `$notInQuery`,
//! `$select`, `$dontSelect`), `$relatedTo`, and constraints on Relation fields. The query side
//! resolves them into plain constraints (`$in`/`$nin` of what the sub-query found) before a read
//! model sees the query, so each sub-query runs once; a read model treats an unresolved one as
//! matching nothing.

use std::cmp::Ordering;

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::geo::{self, GeoCond};
use crate::pattern::Pattern;
use crate::time::Timestamp;
use crate::value;
use crate::Map;

/// Parse Server's default page size.
pub const DEFAULT_LIMIT: usize = 100;

/// Parameters a find accepts; anything else is error 102.
const FIND_PARAMS: &[&str] = &[
    "where",
    "skip",
    "limit",
    "order",
    "count",
    "keys",
    "excludeKeys",
    "include",
    "includeAll",
    "redirectClassNameForKey",
    "readPreference",
    "includeReadPreference",
    "subqueryReadPreference",
    "hint",
    "explain",
    "comment",
];

/// Parameters a get by id accepts.
const GET_PARAMS: &[&str] = &[
    "keys",
    "include",
    "excludeKeys",
    "readPreference",
    "includeReadPreference",
    "subqueryReadPreference",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Nor(Vec<Filter>),
    Field {
        path: String,
        cond: Cond,
    },
    /// Objects in `key`, a Relation field of the object `class_name`/`object_id` (unresolved).
    RelatedTo {
        class_name: String,
        object_id: String,
        key: String,
    },
}

/// The query of `$inQuery`, `$select` and their negations: a class and a `where`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubQuery {
    pub class_name: String,
    pub filter: Filter,
    pub redirect_class_name_for_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq(Value),
    Ne(Value),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    All(Vec<Value>),
    ContainedBy(Vec<Value>),
    /// A string matching the pattern, or an array with such a string.
    Regex(Pattern),
    /// An array with, for each pattern, a string item matching it (`containsAllStartingWith`).
    AllRegex(Vec<Pattern>),
    /// A pointer to an object the sub-query finds (unresolved).
    InQuery(Box<SubQuery>),
    /// Not a pointer to an object the sub-query finds (unresolved).
    NotInQuery(Box<SubQuery>),
    /// Equal to the value of `key` in one of the sub-query's objects (unresolved).
    Select {
        query: Box<SubQuery>,
        key: String,
    },
    /// Equal to none of the values of `key` in the sub-query's objects (unresolved).
    DontSelect {
        query: Box<SubQuery>,
        key: String,
    },
    /// `$nearSphere`, `$within`, `$geoWithin`, `$geoIntersects` (see `geo`).
    Geo(GeoCond),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Filter,
    pub order: Vec<SortKey>,
    pub limit: usize,
    pub skip: usize,
    pub count: bool,
    pub keys: Option<Vec<String>>,
    pub exclude_keys: Vec<String>,
    /// Pointer paths to replace by the objects they point to, shortest first, every prefix of a
    /// path included before it (`a.b` brings `a`).
    pub include: Vec<Vec<String>>,
    /// `include=*`: every Pointer and Array field of the class, one level deep.
    pub include_all: bool,
    /// Query the target class of this Relation field instead (with `$relatedTo`).
    pub redirect_class_name_for_key: Option<String>,
    /// A top-level `$nearSphere`: without `order`, results come nearest first.
    pub near: Option<geo::Near>,
    /// Who reads, as ACL entries (`*`, a user id, `role:Name`): only objects whose ACL lets
    /// one of them read match. `None` reads everything (the master key).
    pub readers: Option<Vec<String>>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            filter: Filter::And(vec![]),
            order: vec![],
            limit: DEFAULT_LIMIT,
            skip: 0,
            count: false,
            keys: None,
            exclude_keys: vec![],
            include: vec![],
            include_all: false,
            redirect_class_name_for_key: None,
            near: None,
            readers: None,
        }
    }
}

/// Parameters arrive as strings in a URL and as JSON values in a tunnelled body.
fn json_param(v: &Value) -> Result<Value, ParseError> {
    match v {
        Value::String(s) => {
            serde_json::from_str(s).map_err(|_| ParseError::invalid_json("Invalid JSON"))
        }
        other => Ok(other.clone()),
    }
}

fn int_param(v: &Value, name: &str, err: i32) -> Result<i64, ParseError> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .map(|n| n as i64)
        .ok_or_else(|| ParseError::new(err, format!("Invalid {name} value: {v}")))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty() && s != "0" && s != "false",
        Value::Null => false,
        _ => true,
    }
}

fn list_param(v: &Value) -> Vec<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Checks that a get by id carries only the parameters Parse allows there.
pub fn check_get_params(params: &Map) -> Result<(), ParseError> {
    match params.keys().find(|k| !GET_PARAMS.contains(&k.as_str())) {
        Some(_) => Err(ParseError::invalid_query("Improper encode of parameter")),
        None => Ok(()),
    }
}

impl Query {
    /// Reads the find parameters of a request (query string or tunnelled body); `now` anchors
    /// `$relativeTime`.
    pub fn from_params(
        params: &Map,
        max_limit: Option<usize>,
        now: &Timestamp,
    ) -> Result<Query, ParseError> {
        if let Some(bad) = params.keys().find(|k| !FIND_PARAMS.contains(&k.as_str())) {
            return Err(ParseError::invalid_query(format!(
                "Invalid parameter for query: {bad}"
            )));
        }
        let mut q = Query::default();
        if let Some(w) = params.get("where") {
            let w = json_param(w)?;
            q.filter = match w {
                Value::Object(m) => parse_where(&m, now)?,
                Value::Null => Filter::And(vec![]),
                _ => return Err(ParseError::invalid_json("where must be a JSON object")),
            };
            q.near = geo::near_of(&q.filter);
        }
        if let Some(l) = params.get("limit") {
            let l = int_param(l, "limit", code::INVALID_LIMIT)?;
            q.limit = if l < 0 { DEFAULT_LIMIT } else { l as usize };
        }
        if let Some(max) = max_limit {
            q.limit = q.limit.min(max);
        }
        if let Some(s) = params.get("skip") {
            let s = int_param(s, "skip", code::INVALID_SKIP)?;
            if s < 0 {
                return Err(ParseError::new(
                    code::INVALID_SKIP,
                    "Invalid skip value: negative",
                ));
            }
            q.skip = s as usize;
        }
        if let Some(c) = params.get("count") {
            q.count = truthy(c);
        }
        if let Some(o) = params.get("order") {
            for key in list_param(o) {
                let (field, descending) = match key.strip_prefix('-') {
                    Some(f) => (f.to_string(), true),
                    None => (key.clone(), false),
                };
                let field = match field.as_str() {
                    "_created_at" => "createdAt".to_string(),
                    "_updated_at" => "updatedAt".to_string(),
                    _ => field,
                };
                check_key(&field).map_err(|_| {
                    ParseError::invalid_key(format!("Invalid field name: {field}."))
                })?;
                q.order.push(SortKey { field, descending });
            }
        }
        if let Some(k) = params.get("keys") {
            q.keys = Some(list_param(k));
        }
        if let Some(k) = params.get("excludeKeys") {
            q.exclude_keys = list_param(k);
        }
        let mut include = params.get("include").map(list_param).unwrap_or_default();
        if include.iter().any(|p| p == "*") || params.get("includeAll").is_some_and(truthy) {
            q.include_all = true;
        }
        // A dotted key selects inside an included object, so it includes its parent path.
        for key in q.keys.iter().flatten() {
            if let Some((parent, _)) = key.rsplit_once('.') {
                include.push(parent.to_string());
            }
        }
        let mut paths: Vec<Vec<String>> = Vec::new();
        for path in include.iter().filter(|p| *p != "*") {
            let segs: Vec<String> = path.split('.').map(String::from).collect();
            for n in 1..=segs.len() {
                if !paths.iter().any(|p| p[..] == segs[..n]) {
                    paths.push(segs[..n].to_vec());
                }
            }
        }
        paths.sort_by_key(Vec::len);
        q.include = paths;
        if let Some(r) = params.get("redirectClassNameForKey") {
            q.redirect_class_name_for_key = r.as_str().map(String::from);
        }
        Ok(q)
    }

    /// The `keys` and `excludeKeys` that apply inside the objects included at `path`: the
    /// remainders of the dotted keys that start with it, one segment deep.
    pub fn projection_at(&self, path: &[String]) -> Query {
        let below = |keys: &[String]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for key in keys {
                let segs: Vec<&str> = key.split('.').collect();
                if segs.len() > path.len() && segs[..path.len()] == path[..] {
                    let next = segs[path.len()].to_string();
                    if !out.contains(&next) {
                        out.push(next);
                    }
                }
            }
            out
        };
        Query {
            keys: self
                .keys
                .as_deref()
                .map(below)
                .filter(|keys| !keys.is_empty()),
            exclude_keys: below(&self.exclude_keys),
            ..Query::default()
        }
    }

    /// Whether `object` matches the query's `where` and its readers may read it.
    pub fn matches(&self, object: &Map) -> bool {
        // The filter first: it rejects most objects, and more cheaply than the ACL.
        self.filter.matches(object)
            && self
                .readers
                .as_deref()
                .is_none_or(|r| crate::acl::allows(object.get("ACL"), "read", r))
    }

    /// Sorts matching objects by `order` (else by `$nearSphere` distance, when there is one),
    /// then by objectId so that pages are stable.
    pub fn sort<T: std::borrow::Borrow<Map>>(&self, objects: &mut [T]) {
        let near = self.near.as_ref().filter(|_| self.order.is_empty());
        objects.sort_by(|a, b| {
            let (a, b) = (a.borrow(), b.borrow());
            if let Some(near) = near {
                let ord = near.compare(
                    field_value(a, &near.field).as_ref(),
                    field_value(b, &near.field).as_ref(),
                );
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            for key in &self.order {
                let ord = compare(
                    field_value(a, &key.field).as_ref(),
                    field_value(b, &key.field).as_ref(),
                );
                let ord = if key.descending { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.get("objectId")
                .and_then(Value::as_str)
                .cmp(&b.get("objectId").and_then(Value::as_str))
        });
    }

    /// Applies `keys` and `excludeKeys` to one result.
    pub fn project(&self, object: &mut Map) {
        const ALWAYS: [&str; 4] = ["objectId", "createdAt", "updatedAt", "ACL"];
        if let Some(keys) = &self.keys {
            object.retain(|k, _| {
                ALWAYS.contains(&k.as_str())
                    || keys
                        .iter()
                        .any(|want| want == k || want.split('.').next() == Some(k))
            });
        }
        for k in &self.exclude_keys {
            if !ALWAYS.contains(&k.as_str()) {
                object.remove(k);
            }
        }
    }
}

fn check_key(key: &str) -> Result<(), ParseError> {
    let ok = key.split('.').enumerate().all(|(i, seg)| {
        let mut chars = seg.chars();
        match chars.next() {
            Some(c) if c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_alphanumeric()) => {
                chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            _ => false,
        }
    });
    if ok {
        Ok(())
    } else {
        Err(ParseError::invalid_key(format!("Invalid key name: {key}")))
    }
}

fn sub_filters(v: &Value, op: &str, now: &Timestamp) -> Result<Vec<Filter>, ParseError> {
    let arr = v.as_array().ok_or_else(|| {
        ParseError::invalid_query(format!("Bad {op} format - use an array value."))
    })?;
    arr.iter()
        .map(|w| match w {
            Value::Object(m) => parse_where(m, now),
            _ => Err(ParseError::invalid_query(format!(
                "Bad {op} format - use an array of objects."
            ))),
        })
        .collect()
}

/// Parses a `where` object into a filter.
pub fn parse_where(w: &Map, now: &Timestamp) -> Result<Filter, ParseError> {
    let mut all = Vec::new();
    for (key, v) in w {
        match key.as_str() {
            "$or" => all.push(Filter::Or(sub_filters(v, "$or", now)?)),
            "$and" => all.push(Filter::And(sub_filters(v, "$and", now)?)),
            "$relatedTo" => all.push(related_to(v)?),
            "$nor" => {
                let subs = sub_filters(v, "$nor", now)?;
                if subs.is_empty() {
                    return Err(ParseError::invalid_query(
                        "Bad $nor format - use an array of at least 1 value.",
                    ));
                }
                all.push(Filter::Nor(subs));
            }
            "ACL" => return Err(ParseError::invalid_query("Cannot query on ACL.")),
            k if k.starts_with('$') => {
                return Err(ParseError::invalid_json(format!("bad constraint: {k}")))
            }
            k => {
                check_key(k)?;
                for cond in parse_constraint(k, v, now)? {
                    all.push(Filter::Field {
                        path: k.to_string(),
                        cond,
                    });
                }
            }
        }
    }
    Ok(Filter::And(all))
}

fn query_value(key: &str, v: &Value) -> Result<Value, ParseError> {
    if let Value::Object(m) = v {
        if m.contains_key("$relativeTime") {
            return Err(ParseError::invalid_json(
                "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators",
            ));
        }
        if m.contains_key("__type") {
            return Ok(value::normalize(v)?.0);
        }
        if !m.is_empty() {
            return Err(ParseError::invalid_json(format!(
                "You cannot use {v} as a query parameter."
            )));
        }
    }
    // createdAt and updatedAt may be compared to bare ISO strings.
    if matches!(key, "createdAt" | "updatedAt") {
        if let Some(t) = v.as_str().and_then(crate::time::parse_iso) {
            return Ok(json!({"__type": "Date", "iso": crate::time::to_iso(&t)}));
        }
    }
    Ok(v.clone())
}

fn value_list(key: &str, v: &Value, op: &str) -> Result<Vec<Value>, ParseError> {
    v.as_array()
        .ok_or_else(|| ParseError::invalid_json(format!("bad {op} value")))?
        .iter()
        .map(|x| query_value(key, x))
        .collect()
}

/// The bound of `$lt`, `$lte`, `$gt`, `$gte`: a value, or a `$relativeTime` from `now`.
fn bound_value(key: &str, op: &str, v: &Value, now: &Timestamp) -> Result<Value, ParseError> {
    match v.get("$relativeTime") {
        Some(text) => {
            let text = text.as_str().unwrap_or_default();
            let t = relative_time(text, now).map_err(|info| {
                ParseError::invalid_json(format!("bad $relativeTime ({op}) value. {info}"))
            })?;
            Ok(json!({"__type": "Date", "iso": crate::time::to_iso(&t)}))
        }
        None => query_value(key, v),
    }
}

/// Parse Server's relative dates: `now`, `in 2 weeks`, `3 days 4 hours ago` (units yr, wk, d, hr,
/// min, sec, spelled short, long, singular or plural; integers only).
pub fn relative_time(text: &str, now: &Timestamp) -> Result<Timestamp, String> {
    let text = text.to_lowercase();
    let mut parts: Vec<&str> = text.split(' ').filter(|p| !p.is_empty()).collect();
    let future = parts.first() == Some(&"in");
    let past = parts.last() == Some(&"ago");
    if !future && !past && text != "now" {
        return Err("Time should either start with 'in' or end with 'ago'".into());
    }
    if future && past {
        return Err("Time cannot have both 'in' and 'ago'".into());
    }
    // Like Parse Server, "now" goes through the "ago" branch with nothing left.
    if future {
        parts.remove(0);
    } else {
        parts.pop();
    }
    if !parts.len().is_multiple_of(2) {
        return Err("Invalid time string. Dangling unit or number.".into());
    }
    let mut seconds: i64 = 0;
    for pair in parts.chunks(2) {
        let n: i64 = pair[0]
            .parse()
            .map_err(|_| format!("'{}' is not an integer.", pair[0]))?;
        let unit = match pair[1] {
            "yr" | "yrs" | "year" | "years" => 31_536_000,
            "wk" | "wks" | "week" | "weeks" => 604_800,
            "d" | "day" | "days" => 86_400,
            "hr" | "hrs" | "hour" | "hours" => 3_600,
            "min" | "mins" | "minute" | "minutes" => 60,
            "sec" | "secs" | "second" | "seconds" => 1,
            other => return Err(format!("Invalid interval: '{other}'")),
        };
        seconds = n
            .checked_mul(unit)
            .and_then(|s| s.checked_add(seconds))
            .ok_or("Time out of range")?;
    }
    let delta = chrono::TimeDelta::try_seconds(seconds).ok_or("Time out of range")?;
    let t = if future {
        now.checked_add_signed(delta)
    } else {
        now.checked_sub_signed(delta)
    };
    t.ok_or_else(|| "Time out of range".to_string())
}

/// `$regex` with its `$options`.
fn pattern(v: &Value, options: Option<&Value>) -> Result<Pattern, ParseError> {
    let source = v
        .as_str()
        .ok_or_else(|| ParseError::invalid_json(format!("bad regex: {v}")))?;
    let options = match options {
        None => "",
        Some(Value::String(o)) => o,
        Some(o) => {
            return Err(ParseError::invalid_query(format!(
                "Bad $options value for query: {o}"
            )))
        }
    };
    Pattern::new(source, options)
}

/// `$all`: values, or (all of them) `{"$regex": …}` objects.
fn all_values(key: &str, v: &Value) -> Result<Cond, ParseError> {
    let items = v
        .as_array()
        .ok_or_else(|| ParseError::invalid_json("bad $all value"))?;
    let is_regex = |x: &Value| x.get("$regex").is_some();
    if items.iter().any(is_regex) {
        if !items.iter().all(is_regex) {
            return Err(ParseError::invalid_json(format!(
                "All $all values must be of regex type or none: {v}"
            )));
        }
        return items
            .iter()
            .map(|x| pattern(&x["$regex"], x.get("$options")))
            .collect::<Result<_, _>>()
            .map(Cond::AllRegex);
    }
    value_list(key, v, "$all").map(Cond::All)
}

/// The `{className, where}` of `$inQuery`/`$notInQuery`, or the `query` of `$select`.
fn sub_query(v: &Value, op: &str, now: &Timestamp) -> Result<SubQuery, ParseError> {
    let improper = || ParseError::invalid_query(format!("improper usage of {op}"));
    let m = v.as_object().ok_or_else(improper)?;
    let class_name = m
        .get("className")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(improper)?;
    let filter = match m.get("where") {
        Some(Value::Object(w)) => parse_where(w, now)?,
        // The iOS SDK leaves `where` out of a `$select` query that has no constraints.
        None if matches!(op, "$select" | "$dontSelect") => Filter::And(vec![]),
        _ => return Err(improper()),
    };
    Ok(SubQuery {
        class_name: class_name.to_string(),
        filter,
        redirect_class_name_for_key: m
            .get("redirectClassNameForKey")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

/// `$select`/`$dontSelect`: exactly `query` and `key`.
fn select(v: &Value, op: &str, now: &Timestamp) -> Result<(Box<SubQuery>, String), ParseError> {
    let improper = || ParseError::invalid_query(format!("improper usage of {op}"));
    let m = v
        .as_object()
        .filter(|m| m.len() == 2)
        .ok_or_else(improper)?;
    let key = m
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or_else(improper)?;
    let query = m.get("query").ok_or_else(improper)?;
    Ok((Box::new(sub_query(query, op, now)?), key.to_string()))
}

/// `$relatedTo: {"object": <pointer>, "key": <relation field>}`.
fn related_to(v: &Value) -> Result<Filter, ParseError> {
    let improper = || ParseError::invalid_query("improper usage of $relatedTo");
    let object = v.get("object").ok_or_else(improper)?;
    let text = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    match (
        object.get("__type").and_then(Value::as_str),
        text("className"),
        text("objectId"),
        v.get("key").and_then(Value::as_str),
    ) {
        (Some("Pointer" | "Object"), Some(class_name), Some(object_id), Some(key)) => {
            Ok(Filter::RelatedTo {
                class_name,
                object_id,
                key: key.to_string(),
            })
        }
        _ => Err(improper()),
    }
}

fn parse_constraint(key: &str, v: &Value, now: &Timestamp) -> Result<Vec<Cond>, ParseError> {
    let Some(m) = v
        .as_object()
        .filter(|m| m.keys().any(|k| k.starts_with('$')))
    else {
        if v.is_array() {
            return Err(ParseError::invalid_json(format!(
                "You cannot use {v} as a query parameter."
            )));
        }
        return Ok(vec![Cond::Eq(query_value(key, v)?)]);
    };
    // The geo operators go together ($maxDistance belongs to $nearSphere).
    let mut conds: Vec<Cond> = geo::parse(m)?.into_iter().map(Cond::Geo).collect();
    for (op, arg) in m {
        conds.push(match op.as_str() {
            "$eq" => Cond::Eq(query_value(key, arg)?),
            "$ne" => Cond::Ne(query_value(key, arg)?),
            "$lt" => Cond::Lt(bound_value(key, op, arg, now)?),
            "$lte" => Cond::Lte(bound_value(key, op, arg, now)?),
            "$gt" => Cond::Gt(bound_value(key, op, arg, now)?),
            "$gte" => Cond::Gte(bound_value(key, op, arg, now)?),
            "$in" => Cond::In(value_list(key, arg, "$in")?),
            "$nin" => Cond::Nin(value_list(key, arg, "$nin")?),
            "$all" => all_values(key, arg)?,
            "$containedBy" => Cond::ContainedBy(value_list(key, arg, "$containedBy")?),
            "$regex" => Cond::Regex(pattern(arg, m.get("$options"))?),
            "$options" if m.contains_key("$regex") => continue,
            "$options" => return Err(ParseError::invalid_query("$options needs a $regex")),
            "$inQuery" => Cond::InQuery(Box::new(sub_query(arg, op, now)?)),
            "$notInQuery" => Cond::NotInQuery(Box::new(sub_query(arg, op, now)?)),
            "$select" => {
                let (query, key) = select(arg, op, now)?;
                Cond::Select { query, key }
            }
            "$dontSelect" => {
                let (query, key) = select(arg, op, now)?;
                Cond::DontSelect { query, key }
            }
            "$exists" => match arg {
                Value::Bool(b) => Cond::Exists(*b),
                _ => return Err(ParseError::invalid_json("bad $exists value")),
            },
            op if geo::is_operator(op) => continue,
            other => return Err(ParseError::invalid_json(format!("bad constraint: {other}"))),
        });
    }
    Ok(conds)
}

/// A field's value for matching and sorting; `createdAt`/`updatedAt` are compared as Dates.
fn field_value(object: &Map, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let root = parts.next()?;
    let mut cur = object.get(root)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    match (root, cur) {
        ("createdAt" | "updatedAt", Value::String(s)) if path == root => {
            Some(json!({"__type": "Date", "iso": s}))
        }
        _ => Some(cur.clone()),
    }
}

/// Equality with pointers compared by class and id only.
fn equal(a: &Value, b: &Value) -> bool {
    let ptr = |v: &Value| {
        let m = v.as_object()?;
        matches!(m.get("__type")?.as_str()?, "Pointer" | "Object")
            .then(|| (m.get("className").cloned(), m.get("objectId").cloned()))
    };
    match (ptr(a), ptr(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => false,
    }
}

fn rank(v: Option<&Value>) -> u8 {
    match v {
        None | Some(Value::Null) => 0,
        Some(Value::Number(_)) => 1,
        Some(Value::String(_)) => 2,
        Some(Value::Object(m)) if m.get("__type") == Some(&json!("Date")) => 3,
        Some(Value::Object(_)) => 4,
        Some(Value::Array(_)) => 5,
        Some(Value::Bool(_)) => 6,
    }
}

/// A total order within each type; values of different types order by type, missing first.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Object(x)), Some(Value::Object(y))) if ra == 3 => x
            .get("iso")
            .and_then(Value::as_str)
            .cmp(&y.get("iso").and_then(Value::as_str)),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        _ => Ordering::Equal,
    }
}

/// Range comparisons only hold between values of the same type (numbers with numbers, …).
fn ordered(field: Option<&Value>, bound: &Value, want: impl Fn(Ordering) -> bool) -> bool {
    let comparable = rank(field) != 0 && rank(field) == rank(Some(bound)) && rank(field) != 4;
    comparable && want(compare(field, Some(bound)))
}

impl Filter {
    pub fn matches(&self, object: &Map) -> bool {
        match self {
            Filter::And(fs) => fs.iter().all(|f| f.matches(object)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(object)),
            Filter::Nor(fs) => !fs.iter().any(|f| f.matches(object)),
            Filter::Field { path, cond } => cond.matches(field_value(object, path).as_ref()),
            Filter::RelatedTo { .. } => false,
        }
    }
}

impl Cond {
    fn matches(&self, field: Option<&Value>) -> bool {
        let eq = |want: &Value| -> bool {
            match (field, want) {
                (None | Some(Value::Null), Value::Null) => true,
                (Some(Value::Array(items)), w) if !w.is_array() => {
                    items.iter().any(|i| equal(i, w))
                }
                (Some(f), w) => equal(f, w),
                (None, _) => false,
            }
        };
        match self {
            Cond::Eq(v) => eq(v),
            Cond::Ne(v) => !eq(v),
            Cond::Lt(v) => ordered(field, v, |o| o == Ordering::Less),
            Cond::Lte(v) => ordered(field, v, |o| o != Ordering::Greater),
            Cond::Gt(v) => ordered(field, v, |o| o == Ordering::Greater),
            Cond::Gte(v) => ordered(field, v, |o| o != Ordering::Less),
            Cond::In(vs) => vs.iter().any(eq),
            Cond::Nin(vs) => !vs.iter().any(eq),
            Cond::Exists(want) => field.is_some() == *want,
            Cond::All(vs) => match field {
                Some(Value::Array(items)) => vs.iter().all(|v| items.iter().any(|i| equal(i, v))),
                _ => false,
            },
            Cond::ContainedBy(vs) => match field {
                Some(Value::Array(items)) => items.iter().all(|i| vs.iter().any(|v| equal(i, v))),
                _ => false,
            },
            Cond::Regex(p) => match field {
                Some(Value::String(s)) => p.is_match(s),
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|i| i.as_str().is_some_and(|s| p.is_match(s))),
                _ => false,
            },
            Cond::AllRegex(ps) => match field {
                Some(Value::Array(items)) => ps.iter().all(|p| {
                    items
                        .iter()
                        .any(|i| i.as_str().is_some_and(|s| p.is_match(s)))
                }),
                _ => false,
            },
            Cond::InQuery(_)
            | Cond::NotInQuery(_)
            | Cond::Select { .. }
            | Cond::DontSelect { .. } => false,
            Cond::Geo(g) => g.matches(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        crate::time::parse_iso("2024-06-01T12:00:00.000Z").unwrap()
    }

    fn params(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    fn obj(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    fn q(where_: Value) -> Query {
        Query::from_params(&params(json!({"where": where_})), None, &now()).unwrap()
    }

    #[test]
    fn parses_params_from_strings() {
        let q = Query::from_params(
            &params(json!({"where": "{\"a\":1}", "limit": "5", "skip": "2", "order": "-score,name", "count": "1"})),
            None,
            &now(),
        )
        .unwrap();
        assert_eq!(q.limit, 5);
        assert_eq!(q.skip, 2);
        assert!(q.count);
        assert_eq!(
            q.order,
            vec![
                SortKey {
                    field: "score".into(),
                    descending: true
                },
                SortKey {
                    field: "name".into(),
                    descending: false
                }
            ]
        );
        let e = Query::from_params(&params(json!({"bogus": 1})), None, &now()).unwrap_err();
        assert_eq!(
            (e.code, e.error.as_str()),
            (102, "Invalid parameter for query: bogus")
        );
        assert_eq!(
            Query::from_params(&params(json!({"where": "{bad"})), None, &now())
                .unwrap_err()
                .code,
            107
        );
        assert_eq!(
            Query::from_params(&params(json!({"limit": "x"})), None, &now())
                .unwrap_err()
                .code,
            117
        );
    }

    #[test]
    fn equality_null_and_arrays() {
        let o = obj(json!({"a": 1, "tags": ["x", "y"], "n": null}));
        assert!(q(json!({"a": 1})).matches(&o));
        assert!(q(json!({"a": 1.0})).matches(&o));
        assert!(!q(json!({"a": 2})).matches(&o));
        assert!(q(json!({"tags": "x"})).matches(&o));
        assert!(q(json!({"n": null})).matches(&o));
        assert!(q(json!({"missing": null})).matches(&o));
        assert!(!q(json!({"a": null})).matches(&o));
    }

    #[test]
    fn comparisons_and_sets() {
        let o = obj(json!({"score": 10, "name": "bob", "createdAt": "2024-01-02T00:00:00.000Z"}));
        assert!(q(json!({"score": {"$gt": 5, "$lte": 10}})).matches(&o));
        assert!(!q(json!({"score": {"$lt": 10}})).matches(&o));
        assert!(!q(json!({"name": {"$gt": 5}})).matches(&o));
        assert!(q(json!({"name": {"$in": ["al", "bob"]}})).matches(&o));
        assert!(q(json!({"name": {"$nin": ["al"]}, "x": {"$exists": false}})).matches(&o));
        assert!(q(json!({"$or": [{"score": 1}, {"name": "bob"}]})).matches(&o));
        assert!(!q(json!({"$nor": [{"score": 10}]})).matches(&o));
        assert!(q(json!({"createdAt": {"$gt": "2024-01-01T00:00:00.000Z"}})).matches(&o));
        assert!(q(
            json!({"createdAt": {"$lt": {"__type": "Date", "iso": "2025-01-01T00:00:00Z"}}})
        )
        .matches(&o));
        assert!(q(json!({"score": {"$ne": 3}})).matches(&o));
    }

    #[test]
    fn pointers_compare_by_id() {
        let p = json!({"__type": "Pointer", "className": "A", "objectId": "1"});
        let o = obj(json!({"owner": p, "list": [p]}));
        assert!(
            q(json!({"owner": {"__type": "Pointer", "className": "A", "objectId": "1"}}))
                .matches(&o)
        );
        assert!(
            q(json!({"list": {"__type": "Pointer", "className": "A", "objectId": "1"}}))
                .matches(&o)
        );
        assert!(
            !q(json!({"owner": {"__type": "Pointer", "className": "A", "objectId": "2"}}))
                .matches(&o)
        );
    }

    #[test]
    fn bad_constraints_are_errors() {
        let bad =
            |w: Value| Query::from_params(&params(json!({"where": w})), None, &now()).unwrap_err();
        assert_eq!(bad(json!({"a": {"$wat": 1}})).code, 107);
        assert_eq!(bad(json!({"ACL": 1})).code, 102);
        assert_eq!(bad(json!({"$or": 1})).code, 102);
        assert_eq!(bad(json!({"a b": 1})).code, 105);
        assert_eq!(bad(json!({"a": {"$in": 1}})).code, 107);
    }

    #[test]
    fn regex_and_options() {
        let o = obj(json!({"name": "Alice", "tags": ["red", "Blue"], "n": 1}));
        assert!(q(json!({"name": {"$regex": "^Al"}})).matches(&o));
        assert!(!q(json!({"name": {"$regex": "^al"}})).matches(&o));
        assert!(q(json!({"name": {"$regex": "^al", "$options": "i"}})).matches(&o));
        assert!(q(json!({"tags": {"$regex": "^blu", "$options": "i"}})).matches(&o));
        assert!(!q(json!({"n": {"$regex": "1"}})).matches(&o));
        assert!(
            q(json!({"tags": {"$all": [{"$regex": "^\\Qre\\E"}, {"$regex": "^B"}]}})).matches(&o)
        );
        assert!(!q(json!({"tags": {"$all": [{"$regex": "^re"}, {"$regex": "^x"}]}})).matches(&o));
        let bad =
            |w: Value| Query::from_params(&params(json!({"where": w})), None, &now()).unwrap_err();
        assert_eq!(bad(json!({"a": {"$regex": 1}})).code, 107);
        assert_eq!(
            bad(json!({"a": {"$regex": "a", "$options": "q"}})).code,
            102
        );
        assert_eq!(bad(json!({"a": {"$regex": "(a"}})).code, 102);
        assert_eq!(
            bad(json!({"a": {"$all": [{"$regex": "a"}, "b"]}})).code,
            107
        );
    }

    #[test]
    fn relative_times() {
        let o = obj(json!({"d": {"__type": "Date", "iso": "2024-05-30T12:00:00.000Z"}}));
        assert!(q(json!({"d": {"$gt": {"$relativeTime": "3 days ago"}}})).matches(&o));
        assert!(!q(json!({"d": {"$gt": {"$relativeTime": "1 day ago"}}})).matches(&o));
        assert!(q(json!({"d": {"$lt": {"$relativeTime": "in 1 hr"}}})).matches(&o));
        assert!(q(json!({"d": {"$lte": {"$relativeTime": "now"}}})).matches(&o));
        let n = now();
        assert_eq!(
            crate::time::to_iso(&super::relative_time("2 weeks 1 day ago", &n).unwrap()),
            "2024-05-17T12:00:00.000Z"
        );
        for bad in [
            "3 days",
            "in 3 days ago",
            "in 3",
            "in x days",
            "in 3 fortnights",
        ] {
            assert!(super::relative_time(bad, &n).is_err(), "{bad}");
        }
        let bad =
            |w: Value| Query::from_params(&params(json!({"where": w})), None, &now()).unwrap_err();
        assert_eq!(
            bad(json!({"d": {"$eq": {"$relativeTime": "now"}}})).code,
            107
        );
        assert_eq!(
            bad(json!({"d": {"$lt": {"$relativeTime": "soon"}}})).code,
            107
        );
    }

    #[test]
    fn sub_queries_and_related_to_parse() {
        let query = q(json!({
            "post": {"$inQuery": {"className": "Post", "where": {"n": 1}}},
            "author": {"$select": {"query": {"className": "U"}, "key": "name"}},
            "$relatedTo": {"object": {"__type": "Pointer", "className": "P", "objectId": "x"}, "key": "likes"},
        }));
        let Filter::And(parts) = &query.filter else {
            panic!()
        };
        assert_eq!(parts.len(), 3);
        assert!(parts.contains(&Filter::RelatedTo {
            class_name: "P".into(),
            object_id: "x".into(),
            key: "likes".into()
        }));
        let bad =
            |w: Value| Query::from_params(&params(json!({"where": w})), None, &now()).unwrap_err();
        assert_eq!(bad(json!({"a": {"$inQuery": {"where": {}}}})).code, 102);
        assert_eq!(
            bad(json!({"a": {"$select": {"query": {"className": "U"}}}})).code,
            102
        );
        assert_eq!(
            bad(json!({"$relatedTo": {"object": 1, "key": "k"}})).code,
            102
        );
    }

    #[test]
    fn include_paths_and_projection_below() {
        let query = Query::from_params(
            &params(json!({"include": "post.author,comments", "keys": "title,post.author.name"})),
            None,
            &now(),
        )
        .unwrap();
        let paths: Vec<String> = query.include.iter().map(|p| p.join(".")).collect();
        assert_eq!(paths, ["post", "comments", "post.author"]);
        let post = ["post".to_string()];
        assert_eq!(
            query.projection_at(&post).keys,
            Some(vec!["author".to_string()])
        );
        assert!(
            Query::from_params(&params(json!({"include": "*"})), None, &now())
                .unwrap()
                .include_all
        );
    }

    #[test]
    fn sorting_is_stable_and_typed() {
        let mut objs: Vec<Map> = vec![
            obj(json!({"objectId": "c", "s": 2})),
            obj(json!({"objectId": "a", "s": 10})),
            obj(json!({"objectId": "b"})),
        ];
        let query = Query::from_params(&params(json!({"order": "-s"})), None, &now()).unwrap();
        query.sort(&mut objs);
        let ids: Vec<_> = objs
            .iter()
            .map(|o| o["objectId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "c", "b"]);
    }

    #[test]
    fn near_sphere_sorts_by_distance_unless_ordered() {
        let gp =
            |lat: f64, lng: f64| json!({"__type": "GeoPoint", "latitude": lat, "longitude": lng});
        let mut objs: Vec<Map> = vec![
            obj(json!({"objectId": "far", "loc": gp(30.0, 30.0), "n": 1})),
            obj(json!({"objectId": "b", "loc": gp(1.0, 1.0), "n": 3})),
            obj(json!({"objectId": "a", "loc": gp(1.0, 1.0), "n": 2})),
            obj(json!({"objectId": "none", "n": 0})),
        ];
        let near = json!({"loc": {"$nearSphere": gp(0.0, 0.0), "$maxDistance": 1.0}});
        let query = q(near.clone());
        let mut hits: Vec<&Map> = objs.iter().filter(|o| query.matches(o)).collect();
        query.sort(&mut hits);
        let ids: Vec<_> = hits
            .iter()
            .map(|o| o["objectId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b", "far"]);
        let ordered =
            Query::from_params(&params(json!({"where": near, "order": "-n"})), None, &now())
                .unwrap();
        ordered.sort(&mut objs);
        let ids: Vec<_> = objs
            .iter()
            .map(|o| o["objectId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["b", "a", "far", "none"]);
        // Only a top-level $nearSphere orders; geo operators combine with the others.
        assert!(q(json!({"$or": [near]})).near.is_none());
        let both = q(json!({"loc": {"$nearSphere": gp(0.0, 0.0), "$exists": true}}));
        assert!(both.near.is_some());
        assert!(both.matches(&objs[0]));
        let bad =
            |w: Value| Query::from_params(&params(json!({"where": w})), None, &now()).unwrap_err();
        assert_eq!(bad(json!({"loc": {"$maxDistance": 1}})).code, 107);
        assert_eq!(bad(json!({"loc": {"$within": {"$box": []}}})).code, 107);
    }

    #[test]
    fn projection_keeps_required_keys() {
        let query = Query::from_params(&params(json!({"keys": "a"})), None, &now()).unwrap();
        let mut o = obj(json!({"objectId": "x", "createdAt": "t", "a": 1, "b": 2}));
        query.project(&mut o);
        assert_eq!(o, obj(json!({"objectId": "x", "createdAt": "t", "a": 1})));
    }
}
