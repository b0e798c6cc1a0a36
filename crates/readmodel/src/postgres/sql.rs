//! Compiles a typed query into PostgreSQL: WHERE, ORDER BY and LIMIT over a class table.
//!
//! The SQL selects exactly what `Filter::matches` accepts and orders it exactly as `Query::sort`.
//!
//! The table holds each object as `data jsonb` (the REST encoding, as `model::value::normalize`
//! produces it) next to the columns `object_id`, `created_at` and `updated_at`. The SQL below is
//! derived case by case from `model::query`; the notes on each function say which rule of
//! `matches`/`compare` it implements. Every value and every field name is bound as a parameter;
//! the only text spliced into SQL is fixed: operators, casts, and the key names of Parse's own
//! encodings (`__type`, `iso`, `className`, `objectId`).
//!
//! Three facts about stored data are relied on (the store guarantees them):
//! - `data` is normalised: a `__type` object is one of the normalised encodings, so a stored
//!   pointer is exactly `{"__type":"Pointer","className":…,"objectId":…}`;
//! - numbers were written by serde_json (an integer within i64/u64, or the shortest decimal of an
//!   f64), so numeric equality of a stored number and a query number below 2^53 is f64 equality;
//! - `objectId`, `createdAt` and `updatedAt` are `object_id`, `created_at` and `updated_at`
//!   (rows written since they left `data` do not hold them there), so every condition and sort
//!   key on them is written against the columns.
//!
//! Every boolean pushed here is two-valued (never SQL NULL), so `NOT` can be applied freely.

use model::pattern::Pattern;
use model::query::{Cond, Filter, Query, SortKey};
use model::{ClassSchema, FieldType};
use serde_json::{json, Value};
use sqlx::{Postgres, QueryBuilder};

// A child module, so that it shares the private helpers; the path keeps it next to this file
// also where a test includes this file by path.
#[path = "geo_sql.rs"]
mod geo_sql;

type Qb<'q, 'args> = &'q mut QueryBuilder<'args, Postgres>;

/// Appends a boolean SQL expression equivalent to `filter.matches(data)`. With the class's
/// `schema`, equality on a top-level field that cannot hold an array skips the "array
/// contains" half (one index probe instead of two).
pub fn push_filter(
    qb: &mut QueryBuilder<'_, Postgres>,
    filter: &Filter,
    schema: Option<&ClassSchema>,
) {
    match filter {
        Filter::And(fs) => push_junction(qb, fs, " AND ", "TRUE", schema),
        Filter::Or(fs) => push_junction(qb, fs, " OR ", "FALSE", schema),
        Filter::Nor(fs) => {
            qb.push("(NOT ");
            push_junction(qb, fs, " OR ", "FALSE", schema);
            qb.push(")");
        }
        Filter::Field { path, cond } => push_field_cond(qb, path, cond, Typing::of(schema, path)),
        // Resolved by the query side before a store sees the query (see model::query).
        Filter::RelatedTo { .. } => {
            qb.push("FALSE");
        }
    }
}

/// Appends the ACL condition of `query.readers`: the object's read permissions (`_rperm`,
/// GIN-indexed; `["*"]` for an object without an ACL) name one of the readers.
pub fn push_readers(qb: &mut QueryBuilder<'_, Postgres>, query: &Query) {
    if let Some(readers) = &query.readers {
        qb.push(" AND _rperm && ");
        qb.push_bind(readers.clone());
        qb.push("::text[]");
    }
}

/// Appends ` ORDER BY …` equivalent to `query.sort`: `order`, else the `$nearSphere` distance.
pub fn push_sort(qb: &mut QueryBuilder<'_, Postgres>, query: &Query, schema: Option<&ClassSchema>) {
    match query.near.as_ref().filter(|_| query.order.is_empty()) {
        Some(near) => geo_sql::push_near_order(qb, near),
        None => push_order(qb, &query.order, schema),
    }
}

/// Appends ` ORDER BY …` equivalent to sorting by `order` (always ending with object_id ASC).
///
/// With the class's `schema`, a top-level field of a scalar type sorts by one simple key: the
/// schema guarantees every value there is of that type, null, or missing (which `compare` puts
/// first, as SQL NULL is with NULLS FIRST ascending / NULLS LAST descending).
pub fn push_order(
    qb: &mut QueryBuilder<'_, Postgres>,
    order: &[SortKey],
    schema: Option<&ClassSchema>,
) {
    qb.push(" ORDER BY ");
    for key in order {
        let (dir, nulls) = if key.descending {
            (" DESC", " DESC NULLS LAST")
        } else {
            (" ASC", " ASC NULLS FIRST")
        };
        let typed = schema.and_then(|s| s.field_type(&key.field));
        match Field::of(&key.field) {
            // Always present, always a string, so one key suffices.
            Field::Column(col) | Field::ObjectId(col) => {
                qb.push(col).push(" COLLATE \"C\"").push(dir).push(", ");
            }
            Field::Json(segs) if typed.is_some_and(|t| scalar_key(t).is_some()) => {
                let (prefix, suffix) = typed.and_then(scalar_key).unwrap_or_default();
                qb.push(prefix);
                push_j(qb, J::Path(&segs));
                qb.push(suffix).push(nulls).push(", ");
            }
            Field::Json(segs) => {
                let f = J::Path(&segs);
                // 1. the type rank of `compare`
                push_rank(qb, f);
                qb.push(dir).push(", ");
                // 2. numbers, numerically as f64
                qb.push("(CASE WHEN jsonb_typeof(");
                push_j(qb, f);
                qb.push(") = 'number' THEN (");
                push_j(qb, f);
                qb.push(")::float8 END)").push(nulls).push(", ");
                // 3. strings by bytes; Dates by iso (a missing iso first); other objects and
                //    arrays by their serde_json text.
                qb.push("(CASE WHEN jsonb_typeof(");
                push_j(qb, f);
                qb.push(") = 'string' THEN ");
                push_j(qb, f);
                qb.push(" #>> '{}' WHEN ");
                push_is_date(qb, f);
                qb.push(" THEN ");
                push_date_iso(qb, f);
                qb.push(" WHEN jsonb_typeof(");
                push_j(qb, f);
                qb.push(") IN ('object', 'array') THEN ");
                push_serialized(qb, f);
                qb.push(" END) COLLATE \"C\"").push(nulls).push(", ");
                // 4. booleans
                qb.push("(CASE WHEN jsonb_typeof(");
                push_j(qb, f);
                qb.push(") = 'boolean' THEN (");
                push_j(qb, f);
                qb.push(")::boolean END)").push(nulls).push(", ");
            }
        }
    }
    qb.push("object_id COLLATE \"C\" ASC");
}

/// The sort key of a field of scalar type `t`, as SQL around the field's jsonb: numbers as
/// f64, strings and Dates' iso by bytes, booleans false first; NULL for null or missing.
fn scalar_key(t: &FieldType) -> Option<(&'static str, &'static str)> {
    Some(match t {
        FieldType::Number => ("((", " #>> '{}')::float8)"),
        FieldType::String => ("((", " #>> '{}') COLLATE \"C\")"),
        FieldType::Boolean => ("((", " #>> '{}')::boolean)"),
        FieldType::Date => ("((", " ->> 'iso') COLLATE \"C\")"),
        _ => return None,
    })
}

/// Appends ` LIMIT … OFFSET …`.
pub fn push_page(qb: &mut QueryBuilder<'_, Postgres>, query: &Query) {
    let clamp = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    qb.push(" LIMIT ").push_bind(clamp(query.limit));
    qb.push(" OFFSET ").push_bind(clamp(query.skip));
}

fn push_junction(
    qb: Qb<'_, '_>,
    fs: &[Filter],
    sep: &str,
    empty: &str,
    schema: Option<&ClassSchema>,
) {
    if fs.is_empty() {
        qb.push(empty);
        return;
    }
    qb.push("(");
    for (i, f) in fs.iter().enumerate() {
        if i > 0 {
            qb.push(sep);
        }
        push_filter(qb, f, schema);
    }
    qb.push(")");
}

/// Where a query path's value lives.
enum Field {
    /// `createdAt`/`updatedAt`: a bare ISO string that `field_value` turns into a Date.
    Column(&'static str),
    /// `objectId`: a string, also in the primary key column.
    ObjectId(&'static str),
    /// Anything else: `data -> seg1 -> seg2 …`.
    Json(Vec<String>),
}

impl Field {
    fn of(path: &str) -> Field {
        match path {
            "createdAt" => Field::Column("created_at"),
            "updatedAt" => Field::Column("updated_at"),
            "objectId" => Field::ObjectId("object_id"),
            _ => Field::Json(path.split('.').map(String::from).collect()),
        }
    }
}

/// A jsonb expression.
#[derive(Clone, Copy)]
enum J<'a> {
    /// The value at a path in `data`, SQL NULL when missing. Chained `->` with text keys is
    /// `Value::get` exactly: it yields NULL through arrays and scalars (unlike `#>`, which would
    /// index arrays with numeric segments).
    Path(&'a [String]),
    /// A fixed column alias of an enclosing subquery.
    Alias(&'static str),
    /// `inner -> 'key'` for a fixed key of Parse's encodings.
    Key(&'a J<'a>, &'static str),
}

fn push_j(qb: Qb<'_, '_>, j: J) {
    match j {
        J::Path(segs) => {
            qb.push("(data");
            for s in segs {
                qb.push(" -> ").push_bind(s.clone()).push("::text");
            }
            qb.push(")");
        }
        J::Alias(a) => {
            qb.push(a);
        }
        J::Key(inner, k) => {
            qb.push("(");
            push_j(qb, *inner);
            qb.push(" -> '").push(k).push("')");
        }
    }
}

fn push_json_bind(qb: Qb<'_, '_>, v: Value) {
    qb.push("(").push_bind(v).push("::jsonb)");
}

/// `{"a":{"b": v}}` for the path `a.b`: matches `data @> …` iff `data.a.b` contains `v`
/// (containment does not look through arrays on the way down, like `Value::get`).
fn nest(segs: &[String], v: Value) -> Value {
    segs.iter().rev().fold(v, |inner, s| {
        let mut m = serde_json::Map::new();
        m.insert(s.clone(), inner);
        Value::Object(m)
    })
}

/// What the class table's GIN index covers: `data` without the keys that are also columns.
/// Those three are unique per row, so indexing them would make most of the index's entries
/// (and of an insert's cost) while no query needs them: their conditions go to the columns.
pub(crate) const INDEXED_DATA: &str = "(data - '{objectId,createdAt,updatedAt}'::text[])";

/// `data.segs` contains `v`, written so that the GIN index can serve it.
fn push_contains(qb: Qb<'_, '_>, segs: &[String], v: Value) {
    let column_key = segs
        .first()
        .is_some_and(|k| matches!(k.as_str(), "objectId" | "createdAt" | "updatedAt"));
    qb.push(if column_key { "data" } else { INDEXED_DATA });
    qb.push(" @> ");
    push_json_bind(qb, nest(segs, v));
}

// ----- classification of query values, mirroring `equal` and `rank` in model::query -----

/// `equal`'s notion of a pointer: an object whose `__type` is "Pointer" or "Object".
fn pointer_key(v: &Value) -> Option<(Option<&Value>, Option<&Value>)> {
    let m = v.as_object()?;
    matches!(m.get("__type")?.as_str()?, "Pointer" | "Object")
        .then(|| (m.get("className"), m.get("objectId")))
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Object(m) if m.get("__type") == Some(&json!("Date")) => 3,
        Value::Object(_) => 4,
        Value::Array(_) => 5,
        Value::Bool(_) => 6,
    }
}

/// Below this magnitude a query number equals a stored number as f64 iff it does as numeric.
const EXACT_F64: f64 = 9_007_199_254_740_992.0; // 2^53

/// The value `v` as jsonb containment can find it inside a normalised array or field, when
/// "contains" means exactly `equal(item, v)`: strings, booleans, numbers below 2^53, pointers.
fn containable(v: &Value) -> Option<Value> {
    match v {
        Value::String(_) | Value::Bool(_) => Some(v.clone()),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.abs() < EXACT_F64)
            .map(|_| v.clone()),
        _ => match pointer_key(v)? {
            (Some(Value::String(c)), Some(Value::String(id))) => Some(model::value::pointer(c, id)),
            _ => None,
        },
    }
}

// ----- conditions -----

/// What the class schema says about a top-level field.
#[derive(Clone, Copy, Default)]
struct Typing<'a> {
    /// The field never holds an array.
    scalar: bool,
    /// The field's type, when an index of the schema API starts with the field: equality is
    /// then written as the index's typed key (which a btree index serves) instead of jsonb
    /// containment (which only the GIN index serves).
    indexed: Option<&'a FieldType>,
}

impl<'a> Typing<'a> {
    fn of(schema: Option<&'a ClassSchema>, path: &str) -> Typing<'a> {
        let Some((schema, ty)) = schema.and_then(|s| Some((s, s.field_type(path)?))) else {
            return Typing::default();
        };
        let leads_an_index = schema
            .indexes
            .values()
            .any(|keys| keys.keys().next().map(String::as_str) == Some(path));
        Typing {
            scalar: !matches!(ty, FieldType::Array | FieldType::Object),
            indexed: (leads_an_index && ty.is_indexable()).then_some(ty),
        }
    }
}

fn push_field_cond(qb: Qb<'_, '_>, path: &str, cond: &Cond, typing: Typing) {
    match Field::of(path) {
        Field::Column(col) => push_date_column_cond(qb, col, cond),
        Field::ObjectId(col) => push_object_id_cond(qb, col, cond),
        Field::Json(segs) => push_json_cond(qb, &segs, cond, typing),
    }
}

fn push_any_of(qb: Qb<'_, '_>, vs: &[Value], mut each: impl FnMut(Qb<'_, '_>, &Value)) {
    if vs.is_empty() {
        qb.push("FALSE");
        return;
    }
    qb.push("(");
    for (i, v) in vs.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        each(qb, v);
    }
    qb.push(")");
}

fn push_not(qb: Qb<'_, '_>, inner: impl FnOnce(Qb<'_, '_>)) {
    qb.push("(NOT ");
    inner(qb);
    qb.push(")");
}

fn range_op(cond: &Cond) -> Option<(&'static str, &Value)> {
    Some(match cond {
        Cond::Lt(v) => ("<", v),
        Cond::Lte(v) => ("<=", v),
        Cond::Gt(v) => (">", v),
        Cond::Gte(v) => (">=", v),
        _ => return None,
    })
}

/// `createdAt`/`updatedAt`: the field is `{"__type":"Date","iso": <column>}`, never missing.
fn push_date_column_cond(qb: Qb<'_, '_>, col: &'static str, cond: &Cond) {
    // Structural equality with {"__type":"Date","iso":col}.
    let eq = |qb: Qb<'_, '_>, w: &Value| match w.as_object() {
        Some(m)
            if m.len() == 2
                && m.get("__type") == Some(&json!("Date"))
                && m.get("iso").is_some_and(Value::is_string) =>
        {
            let iso = m["iso"].as_str().unwrap_or_default().to_string();
            qb.push("(").push(col).push(" = ").push_bind(iso).push(")");
        }
        _ => {
            qb.push("FALSE");
        }
    };
    match cond {
        Cond::Eq(w) => eq(qb, w),
        Cond::Ne(w) => push_not(qb, |qb| eq(qb, w)),
        Cond::In(vs) => push_any_of(qb, vs, eq),
        Cond::Nin(vs) => push_not(qb, |qb| push_any_of(qb, vs, eq)),
        Cond::Exists(want) => {
            qb.push(if *want { "TRUE" } else { "FALSE" });
        }
        // A Date is neither an array nor a string.
        Cond::All(_)
        | Cond::ContainedBy(_)
        | Cond::Regex(_)
        | Cond::AllRegex(_)
        | Cond::InQuery(_)
        | Cond::NotInQuery(_)
        | Cond::Select { .. }
        | Cond::DontSelect { .. }
        | Cond::Geo(_) => {
            qb.push("FALSE");
        }
        Cond::Lt(_) | Cond::Lte(_) | Cond::Gt(_) | Cond::Gte(_) => {
            let (op, w) = range_op(cond).expect("a range");
            if rank(w) != 3 {
                qb.push("FALSE");
                return;
            }
            match w.get("iso").and_then(Value::as_str) {
                Some(iso) => {
                    qb.push("(")
                        .push(col)
                        .push(" COLLATE \"C\" ")
                        .push(op)
                        .push(" ");
                    qb.push_bind(iso.to_string()).push(")");
                }
                // The bound's iso is None, which is below every Some.
                None => {
                    qb.push(if op.starts_with('>') { "TRUE" } else { "FALSE" });
                }
            }
        }
    }
}

/// `objectId`: always present, a string, and only in its column (rows written before the id
/// left `data` hold it there too). Equality and `$in`/`$nin` compare the column (the primary
/// key serves them); any other condition is the one on a field of `data`, evaluated on
/// `{"objectId": <column>}`, which a subquery names `data`.
fn push_object_id_cond(qb: Qb<'_, '_>, col: &'static str, cond: &Cond) {
    let ids = |vs: &[Value]| -> Vec<String> {
        vs.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    match cond {
        Cond::Eq(Value::String(s)) => {
            qb.push("(")
                .push(col)
                .push(" = ")
                .push_bind(s.clone())
                .push(")");
        }
        Cond::In(vs) | Cond::Nin(vs) => {
            let not = if matches!(cond, Cond::Nin(_)) {
                "NOT "
            } else {
                ""
            };
            qb.push("(")
                .push(not)
                .push(col)
                .push(" = ANY(")
                .push_bind(ids(vs))
                .push("::text[]))");
        }
        Cond::Exists(want) => {
            qb.push(if *want { "TRUE" } else { "FALSE" });
        }
        _ => {
            let typing = Typing {
                scalar: true,
                indexed: None,
            };
            qb.push("EXISTS (SELECT 1 FROM (SELECT jsonb_build_object('objectId', ")
                .push(col)
                .push(") AS data) AS id_only WHERE ");
            push_json_cond(qb, &["objectId".to_string()], cond, typing);
            qb.push(")");
        }
    }
}

fn push_json_cond(qb: Qb<'_, '_>, segs: &[String], cond: &Cond, typing: Typing) {
    let f = J::Path(segs);
    match cond {
        Cond::Eq(w) => push_eq(qb, segs, w, typing),
        Cond::Ne(w) => push_not(qb, |qb| push_eq(qb, segs, w, typing)),
        Cond::In(vs) => push_any_of(qb, vs, |qb, w| push_eq(qb, segs, w, typing)),
        Cond::Nin(vs) => push_not(qb, |qb| {
            push_any_of(qb, vs, |qb, w| push_eq(qb, segs, w, typing))
        }),
        Cond::Exists(want) => {
            qb.push("(");
            if let [key] = segs {
                // Top-level: the `?` operator (a GIN jsonb_ops index serves it).
                if !want {
                    qb.push("NOT ");
                }
                qb.push("(data ? ").push_bind(key.clone()).push("::text)");
            } else {
                push_j(qb, f);
                qb.push(if *want { " IS NOT NULL" } else { " IS NULL" });
            }
            qb.push(")");
        }
        Cond::Lt(_) | Cond::Lte(_) | Cond::Gt(_) | Cond::Gte(_) => {
            let (op, w) = range_op(cond).expect("a range");
            push_range(qb, f, op, w);
        }
        Cond::All(vs) => push_all(qb, segs, vs),
        Cond::ContainedBy(vs) => push_contained_by(qb, f, vs),
        Cond::Regex(p) => {
            qb.push("(");
            push_matches(qb, f, p);
            qb.push(" OR ");
            push_some_item(qb, f, |qb, x| push_matches(qb, x, p));
            qb.push(")");
        }
        Cond::AllRegex(ps) => {
            qb.push("(COALESCE(jsonb_typeof(");
            push_j(qb, f);
            qb.push(") = 'array', FALSE)");
            for p in ps {
                qb.push(" AND ");
                push_some_item(qb, f, |qb, x| push_matches(qb, x, p));
            }
            qb.push(")");
        }
        // Resolved by the query side before a store sees the query (see model::query).
        Cond::InQuery(_) | Cond::NotInQuery(_) | Cond::Select { .. } | Cond::DontSelect { .. } => {
            qb.push("FALSE");
        }
        Cond::Geo(geo) => geo_sql::push_geo(qb, f, geo),
    }
}

/// `x` is a string that `p` matches (the pattern translated by `regex_pg`, bound as text).
fn push_matches(qb: Qb<'_, '_>, x: J, p: &Pattern) {
    qb.push("COALESCE(CASE WHEN jsonb_typeof(");
    push_j(qb, x);
    qb.push(") = 'string' THEN (");
    push_j(qb, x);
    qb.push(" #>> '{}') ~ ")
        .push_bind(super::regex_pg::to_postgres(p.hir()))
        .push("::text END, FALSE)");
}

/// `Cond::Eq`'s `eq` for a field that may be missing (SQL NULL).
fn push_eq(qb: Qb<'_, '_>, segs: &[String], w: &Value, typing: Typing) {
    let f = J::Path(segs);
    if let Some(ty) = typing.indexed {
        if !w.is_null() {
            return push_typed_eq(qb, f, ty, w);
        }
    }
    let scalar = typing.scalar;
    match w {
        // Missing, null, or an array holding null.
        Value::Null => {
            qb.push("(COALESCE(jsonb_typeof(");
            push_j(qb, f);
            qb.push("), 'null') = 'null' OR COALESCE(jsonb_typeof(");
            push_j(qb, f);
            qb.push(") = 'array' AND ");
            push_j(qb, f);
            qb.push(" @> '[null]'::jsonb, FALSE))");
        }
        // An array equals only an equal array (no "contains" here).
        Value::Array(_) => {
            qb.push("(");
            push_contains(qb, segs, w.clone());
            qb.push(" AND ");
            push_exact(qb, f, w);
            qb.push(")");
        }
        _ => match containable(w) {
            // The field equals w, or is an array with an item equal to w: exactly what these
            // two containments say for such values (and a GIN index on data can serve them).
            Some(c) => {
                qb.push("(");
                push_contains(qb, segs, c.clone());
                if !scalar {
                    qb.push(" OR ");
                    push_contains(qb, segs, json!([c]));
                }
                qb.push(")");
            }
            None => {
                let prefilter = matches!(w, Value::Object(_)) && pointer_key(w).is_none();
                qb.push("(");
                if prefilter {
                    // Necessary for structural equality of the field or of an item.
                    qb.push("(");
                    push_contains(qb, segs, w.clone());
                    qb.push(" OR ");
                    push_contains(qb, segs, json!([w]));
                    qb.push(") AND ");
                }
                qb.push("(");
                push_equal(qb, f, w);
                qb.push(" OR ");
                push_some_item(qb, f, |qb, x| push_equal(qb, x, w));
                qb.push("))");
            }
        },
    }
}

/// Equality on a field the schema types (so the field holds `ty`, null, or nothing) written
/// as `key = value AND key IS NOT NULL`: a btree index on `key` serves it, and it is never NULL.
/// A value of another type equals nothing there.
fn push_typed_eq(qb: Qb<'_, '_>, f: J, ty: &FieldType, w: &Value) {
    enum Bound {
        Float(f64),
        Text(String),
        Bool(bool),
    }
    let bound = match (ty, w) {
        (FieldType::Number, Value::Number(n)) => n.as_f64().map(Bound::Float),
        (FieldType::String, Value::String(v)) => Some(Bound::Text(v.clone())),
        (FieldType::Boolean, Value::Bool(b)) => Some(Bound::Bool(*b)),
        (FieldType::Date, Value::Object(m))
            if m.len() == 2 && m.get("__type") == Some(&json!("Date")) =>
        {
            m.get("iso")
                .and_then(Value::as_str)
                .map(|iso| Bound::Text(iso.to_string()))
        }
        _ => None,
    };
    let (Some((prefix, suffix)), Some(bound)) = (scalar_key(ty), bound) else {
        qb.push("FALSE");
        return;
    };
    let key = |qb: Qb<'_, '_>| {
        qb.push(prefix);
        push_j(qb, f);
        qb.push(suffix);
    };
    qb.push("(");
    key(qb);
    qb.push(" = ");
    match bound {
        Bound::Float(x) => qb.push_bind(x).push("::float8"),
        Bound::Text(t) => qb.push_bind(t).push("::text"),
        Bound::Bool(b) => qb.push_bind(b),
    };
    qb.push(" AND ");
    key(qb);
    qb.push(" IS NOT NULL)");
}

/// The SQL of an index on `field` (of type `ty`) that `push_typed_eq` and `push_order` can use:
/// their typed key with the field name as a literal (DDL takes no parameters; field names are
/// validated identifiers, and quoted as literals besides).
pub fn index_key(field: &str, ty: &FieldType) -> Option<String> {
    let (prefix, suffix) = scalar_key(ty)?;
    let literal = field.replace('\'', "''");
    Some(format!("{prefix}(data -> '{literal}'::text){suffix}"))
}

/// `EXISTS` an item `x` of the array `f` (false when `f` is not an array) with `pred(x)`.
fn push_some_item(qb: Qb<'_, '_>, f: J, pred: impl FnOnce(Qb<'_, '_>, J)) {
    qb.push("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(");
    push_j(qb, f);
    qb.push(") = 'array' THEN ");
    push_j(qb, f);
    qb.push(" END) AS item(x) WHERE ");
    pred(qb, J::Alias("item.x"));
    qb.push(")");
}

/// `equal(x, v)` for a jsonb `x` (NULL counts as unequal).
fn push_equal(qb: Qb<'_, '_>, x: J, v: &Value) {
    if let Some((class, id)) = pointer_key(v) {
        // Pointers compare by (className, objectId) only.
        qb.push("COALESCE(jsonb_typeof(");
        push_j(qb, x);
        qb.push(") = 'object' AND ");
        push_j(qb, J::Key(&x, "__type"));
        qb.push(" IN ('\"Pointer\"'::jsonb, '\"Object\"'::jsonb) AND ");
        push_opt_exact(qb, J::Key(&x, "className"), class);
        qb.push(" AND ");
        push_opt_exact(qb, J::Key(&x, "objectId"), id);
        qb.push(", FALSE)");
        return;
    }
    match v {
        // Numbers compare as f64 (1 == 1.0).
        Value::Number(n) => {
            qb.push("COALESCE(CASE WHEN jsonb_typeof(");
            push_j(qb, x);
            qb.push(") = 'number' THEN (");
            push_j(qb, x);
            qb.push(")::float8 = ")
                .push_bind(n.as_f64().unwrap_or(f64::NAN))
                .push("::float8 END, FALSE)");
        }
        _ => push_exact(qb, x, v),
    }
}

/// `Option<&Value>` equality as `equal` does it for a pointer's className/objectId.
fn push_opt_exact(qb: Qb<'_, '_>, x: J, v: Option<&Value>) {
    match v {
        None => {
            push_j(qb, x);
            qb.push(" IS NULL");
        }
        Some(v) => push_exact(qb, x, v),
    }
}

/// serde_json's `x == v`: jsonb equality, plus the integer/float distinction serde_json makes
/// between numbers (1 != 1.0) wherever a number sits inside `v`.
fn push_exact(qb: Qb<'_, '_>, x: J, v: &Value) {
    let mut checks = Vec::new();
    number_kinds(v, &mut Vec::new(), &mut checks);
    qb.push("COALESCE(");
    push_j(qb, x);
    qb.push(" = ");
    push_json_bind(qb, v.clone());
    for (path, integer) in checks {
        // Guarded: the casts only run once the structure is known to be equal.
        qb.push(" AND CASE WHEN ");
        push_j(qb, x);
        qb.push(" = ");
        push_json_bind(qb, v.clone());
        qb.push(" THEN scale((");
        push_j(qb, x);
        qb.push(" #> ").push_bind(path).push("::text[])::numeric) ");
        // Stored text "1" reads back as an integer, "1.0" as a float; a float too large for
        // u64/i64 reads back as a float either way, and a fractional one differs in value.
        qb.push(if integer { "= 0" } else { "> 0" });
        qb.push(" ELSE FALSE END");
    }
    qb.push(", FALSE)");
}

/// Numbers inside `v` whose serde_json kind (integer or float) jsonb equality cannot tell apart.
fn number_kinds(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Integral and within i64/u64: the same value could be stored as an integer.
            if f.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..18_446_744_073_709_551_616.0).contains(&f)
            {
                out.push((path.clone(), false));
            }
        }
        Value::Number(_) => out.push((path.clone(), true)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                number_kinds(item, path, out);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                path.push(k.clone());
                number_kinds(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `ordered`: only between values of the same rank, never missing/null or plain objects.
fn push_range(qb: Qb<'_, '_>, f: J, op: &'static str, w: &Value) {
    let typed = |qb: Qb<'_, '_>, ty: &str| {
        qb.push("COALESCE(CASE WHEN jsonb_typeof(");
        push_j(qb, f);
        qb.push(") = '").push(ty).push("' THEN ");
    };
    match w {
        Value::Null | Value::Object(_) if rank(w) != 3 => {
            qb.push("FALSE");
        }
        Value::Number(n) => {
            typed(qb, "number");
            qb.push("(");
            push_j(qb, f);
            qb.push(")::float8 ").push(op).push(" ");
            qb.push_bind(n.as_f64().unwrap_or(f64::NAN))
                .push("::float8 END, FALSE)");
        }
        Value::String(s) => {
            typed(qb, "string");
            qb.push("(");
            push_j(qb, f);
            qb.push(" #>> '{}') COLLATE \"C\" ").push(op).push(" ");
            qb.push_bind(s.clone()).push("::text END, FALSE)");
        }
        Value::Bool(b) => {
            typed(qb, "boolean");
            qb.push("(");
            push_j(qb, f);
            qb.push(")::boolean ")
                .push(op)
                .push(" ")
                .push_bind(*b)
                .push(" END, FALSE)");
        }
        Value::Array(_) => {
            // Arrays compare by their serde_json text.
            typed(qb, "array");
            push_serialized(qb, f);
            qb.push(" COLLATE \"C\" ").push(op).push(" ");
            qb.push_bind(w.to_string()).push("::text END, FALSE)");
        }
        _ => {
            // A Date: compare the iso strings, a missing iso (None) below any string.
            qb.push("COALESCE(");
            push_is_date(qb, f);
            qb.push(" AND ");
            let iso = w.get("iso").and_then(Value::as_str);
            let greater = op.starts_with('>');
            match iso {
                Some(iso) => {
                    qb.push("(");
                    if !greater {
                        push_date_iso(qb, f);
                        qb.push(" IS NULL OR ");
                    }
                    push_date_iso(qb, f);
                    qb.push(" COLLATE \"C\" ").push(op).push(" ");
                    qb.push_bind(iso.to_string()).push("::text)");
                }
                // The bound's iso is None: equal to a None iso, below any string.
                None => match op {
                    "<" => {
                        qb.push("FALSE");
                    }
                    ">=" => {
                        qb.push("TRUE");
                    }
                    _ => {
                        push_date_iso(qb, f);
                        qb.push(if op == "<=" {
                            " IS NULL"
                        } else {
                            " IS NOT NULL"
                        });
                    }
                },
            }
            qb.push(", FALSE)");
        }
    }
}

/// `$all`: an array with an item equal to each value.
fn push_all(qb: Qb<'_, '_>, segs: &[String], vs: &[Value]) {
    let f = J::Path(segs);
    let (found, rest): (Vec<_>, Vec<_>) = vs
        .iter()
        .map(|v| (containable(v), v))
        .partition(|(c, _)| c.is_some());
    qb.push("(");
    if found.is_empty() {
        qb.push("COALESCE(jsonb_typeof(");
        push_j(qb, f);
        qb.push(") = 'array', FALSE)");
    } else {
        // One containment covers every value it can express (and requires an array).
        let items: Vec<Value> = found.into_iter().filter_map(|(c, _)| c).collect();
        push_contains(qb, segs, Value::Array(items));
    }
    for (_, v) in rest {
        qb.push(" AND ");
        push_some_item(qb, f, |qb, x| push_equal(qb, x, v));
    }
    qb.push(")");
}

/// `$containedBy`: an array whose every item equals one of the values.
fn push_contained_by(qb: Qb<'_, '_>, f: J, vs: &[Value]) {
    qb.push("(COALESCE(jsonb_typeof(");
    push_j(qb, f);
    qb.push(") = 'array', FALSE) AND NOT ");
    push_some_item(qb, f, |qb, x| {
        push_not(qb, |qb| push_any_of(qb, vs, |qb, v| push_equal(qb, x, v)))
    });
    qb.push(")");
}

// ----- ordering helpers -----

/// `rank` of the field as an SQL integer.
fn push_rank(qb: Qb<'_, '_>, f: J) {
    qb.push("(CASE jsonb_typeof(");
    push_j(qb, f);
    qb.push(") WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'object' THEN CASE WHEN ");
    push_j(qb, J::Key(&f, "__type"));
    qb.push(" = '\"Date\"'::jsonb THEN 3 ELSE 4 END WHEN 'array' THEN 5 WHEN 'boolean' THEN 6 ELSE 0 END)");
}

/// Whether `f` is a Date (rank 3); NULL when `f` is missing.
fn push_is_date(qb: Qb<'_, '_>, f: J) {
    qb.push("(jsonb_typeof(");
    push_j(qb, f);
    qb.push(") = 'object' AND ");
    push_j(qb, J::Key(&f, "__type"));
    qb.push(" = '\"Date\"'::jsonb)");
}

/// A Date's iso when it is a string, else NULL (`compare` orders None first).
fn push_date_iso(qb: Qb<'_, '_>, f: J) {
    qb.push("(CASE WHEN jsonb_typeof(");
    push_j(qb, J::Key(&f, "iso"));
    qb.push(") = 'string' THEN ");
    push_j(qb, f);
    qb.push(" ->> 'iso' END)");
}

/// serde_json's compact text of `f` (`Value::to_string` of the value as read back from jsonb,
/// keys in jsonb's order). jsonb's own text differs only in its separators (", " and ": ") and
/// in number layout, so that text is split into tokens (strings, numbers, separators, single
/// characters) and the separators and numbers are rewritten. (A recursive walk would do the
/// same, but its row estimates are so large that the planner turns JIT compilation on.)
fn push_serialized(qb: Qb<'_, '_>, f: J) {
    qb.push("(SELECT string_agg(CASE WHEN m.t = ', ' THEN ',' WHEN m.t = ': ' THEN ':' WHEN m.t ~ '^-?[0-9]' THEN ");
    qb.push(NUMBER_TEXT);
    qb.push(" ELSE m.t END, '' ORDER BY m.i) FROM (SELECT r.tok[1], r.i FROM regexp_matches((");
    push_j(qb, f);
    qb.push(concat!(
        ")::text, E'\"(?:[^\"\\\\\\\\]|\\\\\\\\.)*\"|-?[0-9][0-9.]*|, |: |.', 'g') WITH ORDINALITY AS r(tok, i)) AS m(t, i)",
        " CROSS JOIN LATERAL (SELECT split_part(ltrim(m.t, '-'), '.', 1) AS ip, split_part(ltrim(m.t, '-'), '.', 2) AS fp) AS s",
        " CROSS JOIN LATERAL (SELECT rtrim(ltrim(s.ip || s.fp, '0'), '0') AS d,",
        " length(s.ip) - (length(s.ip || s.fp) - length(ltrim(s.ip || s.fp, '0'))) AS kk) AS n)",
    ));
}

/// serde_json's text of the number token `m.t` (jsonb prints numbers as plain decimals).
/// An integer (no fraction, within i64/u64) reads back as an integer and prints as is; anything
/// else reads back as an f64 and prints as its shortest decimal (serde_json 1.0.154 formats with
/// `zmij`; older versions used `ryu`, which differs only in writing `1e20` for `1e+20`). Stored
/// floats are shortest decimals, so the significant digits `n.d` are the printer's; only its
/// layout is redone, with `n.kk` the decimal exponent (10^(kk-1) <= |x| < 10^kk): plain
/// decimals for 10^-5 <= |x| < 10^16, else `d.ddde±x`.
const NUMBER_TEXT: &str = concat!(
    "CASE WHEN strpos(m.t, '.') = 0 AND m.t::numeric BETWEEN -9223372036854775808 AND 18446744073709551615 THEN m.t",
    " WHEN n.d = '' THEN '0.0'",
    " ELSE CASE WHEN left(m.t, 1) = '-' THEN '-' ELSE '' END || CASE",
    " WHEN n.kk >= length(n.d) AND n.kk <= 16 THEN n.d || repeat('0', n.kk - length(n.d)) || '.0'",
    " WHEN n.kk > 0 AND n.kk <= 16 THEN left(n.d, n.kk) || '.' || substr(n.d, n.kk + 1)",
    " WHEN n.kk > -5 AND n.kk <= 0 THEN '0.' || repeat('0', -n.kk) || n.d",
    " ELSE left(n.d, 1) || CASE WHEN length(n.d) > 1 THEN '.' || substr(n.d, 2) ELSE '' END",
    " || CASE WHEN n.kk > 0 THEN 'e+' ELSE 'e-' END || abs(n.kk - 1) END END",
);
