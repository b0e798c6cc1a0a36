//! The typed query: `where`, `order`, `limit`, `skip`, `count`, `keys`, `excludeKeys` parsed from
//! request parameters, and the matcher and ordering the in-memory read model evaluates them with.

use std::cmp::Ordering;

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::geo::{self, GeoCond};
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
    Field { path: String, cond: Cond },
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
    /// A top-level `$nearSphere`: without `order`, results come nearest first.
    pub near: Option<geo::Near>,
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
            near: None,
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
    /// Reads the find parameters of a request (query string or tunnelled body).
    pub fn from_params(params: &Map, max_limit: Option<usize>) -> Result<Query, ParseError> {
        if let Some(bad) = params.keys().find(|k| !FIND_PARAMS.contains(&k.as_str())) {
            return Err(ParseError::invalid_query(format!(
                "Invalid parameter for query: {bad}"
            )));
        }
        let mut q = Query::default();
        if let Some(w) = params.get("where") {
            let w = json_param(w)?;
            q.filter = match w {
                Value::Object(m) => parse_where(&m)?,
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
        Ok(q)
    }

    /// Whether `object` matches the query's `where`.
    pub fn matches(&self, object: &Map) -> bool {
        self.filter.matches(object)
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

fn sub_filters(v: &Value, op: &str) -> Result<Vec<Filter>, ParseError> {
    let arr = v.as_array().ok_or_else(|| {
        ParseError::invalid_query(format!("Bad {op} format - use an array value."))
    })?;
    arr.iter()
        .map(|w| match w {
            Value::Object(m) => parse_where(m),
            _ => Err(ParseError::invalid_query(format!(
                "Bad {op} format - use an array of objects."
            ))),
        })
        .collect()
}

/// Parses a `where` object into a filter.
pub fn parse_where(w: &Map) -> Result<Filter, ParseError> {
    let mut all = Vec::new();
    for (key, v) in w {
        match key.as_str() {
            "$or" => all.push(Filter::Or(sub_filters(v, "$or")?)),
            "$and" => all.push(Filter::And(sub_filters(v, "$and")?)),
            "$nor" => {
                let subs = sub_filters(v, "$nor")?;
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
                for cond in parse_constraint(k, v)? {
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

fn parse_constraint(key: &str, v: &Value) -> Result<Vec<Cond>, ParseError> {
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
            "$lt" => Cond::Lt(query_value(key, arg)?),
            "$lte" => Cond::Lte(query_value(key, arg)?),
            "$gt" => Cond::Gt(query_value(key, arg)?),
            "$gte" => Cond::Gte(query_value(key, arg)?),
            "$in" => Cond::In(value_list(key, arg, "$in")?),
            "$nin" => Cond::Nin(value_list(key, arg, "$nin")?),
            "$all" => Cond::All(value_list(key, arg, "$all")?),
            "$containedBy" => Cond::ContainedBy(value_list(key, arg, "$containedBy")?),
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
            Cond::Geo(g) => g.matches(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    fn obj(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    fn q(where_: Value) -> Query {
        Query::from_params(&params(json!({"where": where_})), None).unwrap()
    }

    #[test]
    fn parses_params_from_strings() {
        let q = Query::from_params(
            &params(json!({"where": "{\"a\":1}", "limit": "5", "skip": "2", "order": "-score,name", "count": "1"})),
            None,
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
        let e = Query::from_params(&params(json!({"bogus": 1})), None).unwrap_err();
        assert_eq!(
            (e.code, e.error.as_str()),
            (102, "Invalid parameter for query: bogus")
        );
        assert_eq!(
            Query::from_params(&params(json!({"where": "{bad"})), None)
                .unwrap_err()
                .code,
            107
        );
        assert_eq!(
            Query::from_params(&params(json!({"limit": "x"})), None)
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
        let bad = |w: Value| Query::from_params(&params(json!({"where": w})), None).unwrap_err();
        assert_eq!(bad(json!({"a": {"$wat": 1}})).code, 107);
        assert_eq!(bad(json!({"ACL": 1})).code, 102);
        assert_eq!(bad(json!({"$or": 1})).code, 102);
        assert_eq!(bad(json!({"a b": 1})).code, 105);
        assert_eq!(bad(json!({"a": {"$in": 1}})).code, 107);
    }

    #[test]
    fn sorting_is_stable_and_typed() {
        let mut objs: Vec<Map> = vec![
            obj(json!({"objectId": "c", "s": 2})),
            obj(json!({"objectId": "a", "s": 10})),
            obj(json!({"objectId": "b"})),
        ];
        let query = Query::from_params(&params(json!({"order": "-s"})), None).unwrap();
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
            Query::from_params(&params(json!({"where": near, "order": "-n"})), None).unwrap();
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
        let bad = |w: Value| Query::from_params(&params(json!({"where": w})), None).unwrap_err();
        assert_eq!(bad(json!({"loc": {"$maxDistance": 1}})).code, 107);
        assert_eq!(bad(json!({"loc": {"$within": {"$box": []}}})).code, 107);
    }

    #[test]
    fn projection_keeps_required_keys() {
        let query = Query::from_params(&params(json!({"keys": "a"})), None).unwrap();
        let mut o = obj(json!({"objectId": "x", "createdAt": "t", "a": 1, "b": 2}));
        query.project(&mut o);
        assert_eq!(o, obj(json!({"objectId": "x", "createdAt": "t", "a": 1})));
    }
}
