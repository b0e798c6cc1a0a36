//! Update operations (`{"__op": …}`): parsing them from a request body, their Parse JSON form
//! (the form events carry), and applying one to a field's current value.

use serde_json::{json, Number, Value};

use crate::error::{code, ParseError};
use crate::schema::FieldType;
use crate::value::{self, pointer};
use crate::Map;

/// One operation on one field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldOp {
    /// Set the field to a (normalised) value; `null` stores null.
    Set(Value),
    Delete,
    Increment(Number),
    Add(Vec<Value>),
    AddUnique(Vec<Value>),
    Remove(Vec<Value>),
    /// `AddRelation`, `RemoveRelation` or a `Batch` of both, on a relation to `target`.
    Relation {
        target: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
}

/// The operations of one write, in the order the client sent the keys.
pub type Ops = Vec<(String, FieldOp)>;

fn objects<'a>(map: &'a Map, what: &str) -> Result<&'a Vec<Value>, ParseError> {
    map.get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::invalid_json(format!("objects to {what} must be an array")))
}

fn normalized_items(items: &[Value]) -> Result<Vec<Value>, ParseError> {
    items
        .iter()
        .map(|v| value::normalize(v).map(|(v, _)| v))
        .collect()
}

fn relation_targets(map: &Map, target: &mut Option<String>) -> Result<Vec<String>, ParseError> {
    let mut ids = Vec::new();
    for item in objects(map, "add to relation")? {
        let class = item.get("className").and_then(Value::as_str);
        let id = item.get("objectId").and_then(Value::as_str);
        let (Some(class), Some(id)) = (class, id) else {
            return Err(ParseError::new(
                code::INVALID_POINTER,
                "Relation objects must be pointers",
            ));
        };
        match target {
            Some(t) if t != class => {
                return Err(ParseError::incorrect_type(format!(
                    "Tried to create a relation with class {class} on a relation to {t}"
                )))
            }
            _ => *target = Some(class.to_string()),
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

impl FieldOp {
    /// Reads a body value: a plain value becomes `Set`, `{"__op": …}` the operation it names.
    pub fn parse(value: &Value) -> Result<FieldOp, ParseError> {
        let Some(map) = value.as_object().filter(|m| m.contains_key("__op")) else {
            return Ok(FieldOp::Set(value::normalize(value)?.0));
        };
        let name = map.get("__op").and_then(Value::as_str).unwrap_or_default();
        Ok(match name {
            "Delete" => FieldOp::Delete,
            "Increment" => match map.get("amount") {
                Some(Value::Number(n)) => FieldOp::Increment(n.clone()),
                _ => {
                    return Err(ParseError::invalid_json(
                        "incrementing must provide a number",
                    ))
                }
            },
            "Add" => FieldOp::Add(normalized_items(objects(map, "add")?)?),
            "AddUnique" => FieldOp::AddUnique(normalized_items(objects(map, "add")?)?),
            "Remove" => FieldOp::Remove(normalized_items(objects(map, "remove")?)?),
            "AddRelation" | "RemoveRelation" | "Batch" => {
                let mut target = None;
                let (mut add, mut remove) = (Vec::new(), Vec::new());
                let parts: Vec<&Map> = if name == "Batch" {
                    let ops = map
                        .get("ops")
                        .and_then(Value::as_array)
                        .ok_or_else(|| ParseError::invalid_json("Batch ops must be an array"))?;
                    ops.iter().filter_map(Value::as_object).collect()
                } else {
                    vec![map]
                };
                for part in parts {
                    match part.get("__op").and_then(Value::as_str) {
                        Some("AddRelation") => add.extend(relation_targets(part, &mut target)?),
                        Some("RemoveRelation") => {
                            remove.extend(relation_targets(part, &mut target)?)
                        }
                        other => {
                            return Err(ParseError::new(
                                code::COMMAND_UNAVAILABLE,
                                format!(
                                    "The {} operator is not supported in a Batch.",
                                    other.unwrap_or("unknown")
                                ),
                            ))
                        }
                    }
                }
                let target = target.ok_or_else(|| {
                    ParseError::invalid_json("a relation operation needs at least one object")
                })?;
                FieldOp::Relation {
                    target,
                    add,
                    remove,
                }
            }
            other => {
                return Err(ParseError::new(
                    code::COMMAND_UNAVAILABLE,
                    format!("The {other} operator is not supported yet."),
                ))
            }
        })
    }

    /// Parse's own JSON for the operation: what an event carries and a consumer reads.
    pub fn to_json(&self) -> Value {
        let ptrs = |target: &str, ids: &[String]| -> Vec<Value> {
            ids.iter().map(|id| pointer(target, id)).collect()
        };
        match self {
            FieldOp::Set(v) => v.clone(),
            FieldOp::Delete => json!({"__op": "Delete"}),
            FieldOp::Increment(n) => json!({"__op": "Increment", "amount": n}),
            FieldOp::Add(o) => json!({"__op": "Add", "objects": o}),
            FieldOp::AddUnique(o) => json!({"__op": "AddUnique", "objects": o}),
            FieldOp::Remove(o) => json!({"__op": "Remove", "objects": o}),
            FieldOp::Relation {
                target,
                add,
                remove,
            } => {
                let add_op = json!({"__op": "AddRelation", "objects": ptrs(target, add)});
                let remove_op = json!({"__op": "RemoveRelation", "objects": ptrs(target, remove)});
                match (add.is_empty(), remove.is_empty()) {
                    (false, true) => add_op,
                    (true, false) => remove_op,
                    _ => json!({"__op": "Batch", "ops": [add_op, remove_op]}),
                }
            }
        }
    }

    /// The type the field must have for this operation, if the operation implies one.
    pub fn implied_type(&self) -> Option<FieldType> {
        match self {
            // `parse` normalised the value already.
            FieldOp::Set(v) => value::type_of(v),
            FieldOp::Delete => None,
            FieldOp::Increment(_) => Some(FieldType::Number),
            FieldOp::Add(_) | FieldOp::AddUnique(_) | FieldOp::Remove(_) => Some(FieldType::Array),
            FieldOp::Relation { target, .. } => Some(FieldType::Relation(target.clone())),
        }
    }

    /// Whether the response to the write should echo the value this operation produced.
    pub fn echoes_result(&self) -> bool {
        matches!(
            self,
            FieldOp::Increment(_) | FieldOp::Add(_) | FieldOp::AddUnique(_) | FieldOp::Remove(_)
        )
    }

    /// The field's value after the operation, given its value before (`None` = absent).
    /// Relation operations leave the field itself untouched.
    pub fn apply(&self, field: &str, current: Option<&Value>) -> Result<Option<Value>, ParseError> {
        let current = current.filter(|v| !v.is_null());
        let not_array = || {
            ParseError::incorrect_type(format!(
                "{field} is not an array and cannot take array operations"
            ))
        };
        Ok(match self {
            FieldOp::Set(v) => Some(v.clone()),
            FieldOp::Delete => None,
            FieldOp::Increment(amount) => {
                let sum = match current {
                    None => Value::Number(amount.clone()),
                    Some(Value::Number(n)) => Value::Number(add_numbers(n, amount)),
                    Some(_) => {
                        return Err(ParseError::incorrect_type(format!(
                            "Cannot increment {field}: it is not a number"
                        )))
                    }
                };
                Some(sum)
            }
            FieldOp::Add(items) => {
                let mut arr = array_of(current).ok_or_else(not_array)?;
                arr.extend(items.iter().cloned());
                Some(Value::Array(arr))
            }
            FieldOp::AddUnique(items) => {
                let mut arr = array_of(current).ok_or_else(not_array)?;
                for item in items {
                    if !arr.iter().any(|x| same_value(x, item)) {
                        arr.push(item.clone());
                    }
                }
                Some(Value::Array(arr))
            }
            FieldOp::Remove(items) => {
                let mut arr = array_of(current).ok_or_else(not_array)?;
                arr.retain(|x| !items.iter().any(|i| same_value(x, i)));
                Some(Value::Array(arr))
            }
            FieldOp::Relation { .. } => current.cloned(),
        })
    }
}

fn array_of(current: Option<&Value>) -> Option<Vec<Value>> {
    match current {
        None => Some(Vec::new()),
        Some(Value::Array(a)) => Some(a.clone()),
        Some(_) => None,
    }
}

/// Equality as Parse applies it in arrays: pointers match on class and id alone.
fn same_value(a: &Value, b: &Value) -> bool {
    let ptr = |v: &Value| {
        let m = v.as_object()?;
        matches!(m.get("__type")?.as_str()?, "Pointer" | "Object")
            .then(|| (m.get("className").cloned(), m.get("objectId").cloned()))
    };
    match (ptr(a), ptr(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Integer sums stay integers (as JSON numbers do in JavaScript up to 2^53); otherwise floats.
fn add_numbers(a: &Number, b: &Number) -> Number {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        if let Some(sum) = x.checked_add(y) {
            return Number::from(sum);
        }
    }
    let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
    Number::from_f64(sum).unwrap_or_else(|| Number::from(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(v: Value) -> FieldOp {
        FieldOp::parse(&v).unwrap()
    }

    #[test]
    fn increment_adds_and_starts_from_zero() {
        let inc = op(json!({"__op": "Increment", "amount": -3}));
        assert_eq!(inc.apply("n", None).unwrap(), Some(json!(-3)));
        assert_eq!(inc.apply("n", Some(&json!(10))).unwrap(), Some(json!(7)));
        let inc = op(json!({"__op": "Increment", "amount": 0.5}));
        assert_eq!(inc.apply("n", Some(&json!(1))).unwrap(), Some(json!(1.5)));
        assert_eq!(inc.apply("n", Some(&json!("x"))).unwrap_err().code, 111);
        let e = FieldOp::parse(&json!({"__op": "Increment", "amount": "1"})).unwrap_err();
        assert_eq!(e.code, 107);
    }

    #[test]
    fn array_ops() {
        let cur = json!([1, 2, 2, 3]);
        assert_eq!(
            op(json!({"__op": "Add", "objects": [2, 4]}))
                .apply("a", Some(&cur))
                .unwrap(),
            Some(json!([1, 2, 2, 3, 2, 4]))
        );
        assert_eq!(
            op(json!({"__op": "AddUnique", "objects": [2, 4, 4]}))
                .apply("a", Some(&cur))
                .unwrap(),
            Some(json!([1, 2, 2, 3, 4]))
        );
        assert_eq!(
            op(json!({"__op": "Remove", "objects": [2]}))
                .apply("a", Some(&cur))
                .unwrap(),
            Some(json!([1, 3]))
        );
        assert_eq!(
            op(json!({"__op": "Remove", "objects": [2]}))
                .apply("a", None)
                .unwrap(),
            Some(json!([]))
        );
        assert_eq!(
            FieldOp::parse(&json!({"__op": "Add", "objects": 1}))
                .unwrap_err()
                .code,
            107
        );
    }

    #[test]
    fn relation_ops_and_batches() {
        let p = |id: &str| json!({"__type": "Pointer", "className": "_User", "objectId": id});
        let batch = op(json!({"__op": "Batch", "ops": [
            {"__op": "AddRelation", "objects": [p("a"), p("b")]},
            {"__op": "RemoveRelation", "objects": [p("c")]}
        ]}));
        assert_eq!(
            batch,
            FieldOp::Relation {
                target: "_User".into(),
                add: vec!["a".into(), "b".into()],
                remove: vec!["c".into()]
            }
        );
        assert_eq!(FieldOp::parse(&batch.to_json()).unwrap(), batch);
        assert_eq!(
            batch.implied_type(),
            Some(FieldType::Relation("_User".into()))
        );
    }

    #[test]
    fn unknown_ops_are_108() {
        let e = FieldOp::parse(&json!({"__op": "Explode"})).unwrap_err();
        assert_eq!(e.code, 108);
        assert_eq!(e.error, "The Explode operator is not supported yet.");
    }

    #[test]
    fn ops_survive_their_json_form() {
        for v in [
            json!({"__op": "Delete"}),
            json!({"__op": "Increment", "amount": 2}),
            json!({"__op": "AddUnique", "objects": ["x"]}),
            json!("plain"),
        ] {
            let o = op(v.clone());
            assert_eq!(o.to_json(), v);
        }
    }
}
