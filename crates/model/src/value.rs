//! Parse values in their REST encoding: classifying a value's type, validating `__type`
//! encodings and normalising them to the one form the read model stores.

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::schema::FieldType;
use crate::{time, Map};

fn not_valid(kind: &str) -> ParseError {
    ParseError::incorrect_type(format!("This is not a valid {kind}"))
}

/// Validates `value` and returns its normalised form and type (`None` type for `null`).
///
/// Normalising means: Dates re-encoded with milliseconds, GeoPoints and Pointers reduced to their
/// defining keys, nested objects and arrays normalised recursively.
pub fn normalize(value: &Value) -> Result<(Value, Option<FieldType>), ParseError> {
    Ok(match value {
        Value::Null => (Value::Null, None),
        Value::Bool(_) => (value.clone(), Some(FieldType::Boolean)),
        Value::Number(_) => (value.clone(), Some(FieldType::Number)),
        Value::String(_) => (value.clone(), Some(FieldType::String)),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|v| normalize(v).map(|(v, _)| v))
                .collect::<Result<Vec<_>, _>>()?;
            (Value::Array(items), Some(FieldType::Array))
        }
        Value::Object(map) => match map.get("__type") {
            Some(Value::String(kind)) => normalize_typed(kind, map)?,
            Some(_) => return Err(not_valid("type")),
            None => {
                if map.contains_key("__op") {
                    return Err(ParseError::invalid_json(
                        "operations are only allowed as top-level field values",
                    ));
                }
                (
                    Value::Object(normalize_nested(map)?),
                    Some(FieldType::Object),
                )
            }
        },
    })
}

fn normalize_nested(map: &Map) -> Result<Map, ParseError> {
    let mut out = Map::new();
    for (k, v) in map {
        if k.contains('$') || k.contains('.') {
            return Err(ParseError::new(
                code::INVALID_NESTED_KEY,
                "Nested keys should not contain the '$' or '.' characters",
            ));
        }
        out.insert(k.clone(), normalize(v)?.0);
    }
    Ok(out)
}

fn str_field<'a>(map: &'a Map, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn normalize_typed(kind: &str, map: &Map) -> Result<(Value, Option<FieldType>), ParseError> {
    Ok(match kind {
        "Date" => {
            let iso = str_field(map, "iso")
                .and_then(time::parse_iso)
                .ok_or_else(|| not_valid("Date"))?;
            (
                json!({"__type": "Date", "iso": time::to_iso(&iso)}),
                Some(FieldType::Date),
            )
        }
        "Pointer" => {
            let (class, id) = pointer_parts(map).ok_or_else(|| not_valid("Pointer"))?;
            (
                pointer(class, id),
                Some(FieldType::Pointer(class.to_string())),
            )
        }
        "Relation" => {
            let class = str_field(map, "className")
                .filter(|c| crate::names::is_valid_class_name(c))
                .ok_or_else(|| not_valid("Relation"))?;
            (
                json!({"__type": "Relation", "className": class}),
                Some(FieldType::Relation(class.to_string())),
            )
        }
        "File" => {
            let name = str_field(map, "name").ok_or_else(|| not_valid("File"))?;
            let mut file = json!({"__type": "File", "name": name});
            if let Some(url) = str_field(map, "url") {
                file["url"] = json!(url);
            }
            (file, Some(FieldType::File))
        }
        "GeoPoint" => {
            let lat = map.get("latitude").and_then(Value::as_f64);
            let lng = map.get("longitude").and_then(Value::as_f64);
            let (Some(lat), Some(lng)) = (lat, lng) else {
                return Err(not_valid("GeoPoint"));
            };
            check_geopoint(lat, lng)?;
            (
                json!({"__type": "GeoPoint", "latitude": map["latitude"], "longitude": map["longitude"]}),
                Some(FieldType::GeoPoint),
            )
        }
        "Polygon" => (normalize_polygon(map)?, Some(FieldType::Polygon)),
        "Bytes" => {
            // Parse Server keeps whatever string it is given; so do we.
            let b64 = str_field(map, "base64").ok_or_else(|| not_valid("Bytes"))?;
            (
                json!({"__type": "Bytes", "base64": b64}),
                Some(FieldType::Bytes),
            )
        }
        "Object" => {
            // A full object as the SDKs sometimes send for a pointer: store the pointer.
            let (class, id) = pointer_parts(map).ok_or_else(|| not_valid("Object"))?;
            (
                pointer(class, id),
                Some(FieldType::Pointer(class.to_string())),
            )
        }
        other => return Err(not_valid(other)),
    })
}

fn pointer_parts(map: &Map) -> Option<(&str, &str)> {
    let class = str_field(map, "className").filter(|c| crate::names::is_valid_class_name(c))?;
    let id = str_field(map, "objectId")?;
    Some((class, id))
}

/// The type of a value `normalize` already accepted (`None` for null); no copying.
pub fn type_of(value: &Value) -> Option<FieldType> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) => FieldType::Boolean,
        Value::Number(_) => FieldType::Number,
        Value::String(_) => FieldType::String,
        Value::Array(_) => FieldType::Array,
        Value::Object(m) => {
            let class = || str_field(m, "className").unwrap_or_default().to_string();
            match m.get("__type").and_then(Value::as_str) {
                Some("Date") => FieldType::Date,
                Some("Pointer") | Some("Object") => FieldType::Pointer(class()),
                Some("Relation") => FieldType::Relation(class()),
                Some("File") => FieldType::File,
                Some("GeoPoint") => FieldType::GeoPoint,
                Some("Polygon") => FieldType::Polygon,
                Some("Bytes") => FieldType::Bytes,
                _ => FieldType::Object,
            }
        }
    })
}

pub fn pointer(class: &str, object_id: &str) -> Value {
    json!({"__type": "Pointer", "className": class, "objectId": object_id})
}

/// The guide's GeoPoint rules: latitude in [-90, 90], longitude in [-180, 180].
pub fn check_geopoint(lat: f64, lng: f64) -> Result<(), ParseError> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ParseError::invalid_json(format!(
            "GeoPoint latitude out of bounds: {lat}."
        )));
    }
    if !(-180.0..=180.0).contains(&lng) {
        return Err(ParseError::invalid_json(format!(
            "GeoPoint longitude out of bounds: {lng}."
        )));
    }
    Ok(())
}

fn normalize_polygon(map: &Map) -> Result<Value, ParseError> {
    let coords = map
        .get("coordinates")
        .and_then(Value::as_array)
        .ok_or_else(|| not_valid("Polygon"))?;
    let mut points = Vec::with_capacity(coords.len());
    for c in coords {
        let pair = c.as_array().filter(|p| p.len() == 2);
        let (lat, lng) = match pair.map(|p| (p[0].as_f64(), p[1].as_f64())) {
            Some((Some(lat), Some(lng))) => (lat, lng),
            _ => {
                return Err(ParseError::invalid_json(
                    "bad $geoWithin value; Polygon coordinates must be [lat, lng] pairs",
                ))
            }
        };
        check_geopoint(lat, lng)?;
        points.push(json!([c[0], c[1]]));
    }
    let mut distinct = points.clone();
    distinct.dedup();
    if distinct.len() > 1 && distinct.first() == distinct.last() {
        distinct.pop();
    }
    if distinct.len() < 3 {
        return Err(ParseError::invalid_json(
            "Polygon must have at least 3 distinct points",
        ));
    }
    // Parse Server closes the ring.
    if points.first() != points.last() {
        points.push(points[0].clone());
    }
    Ok(json!({"__type": "Polygon", "coordinates": points}))
}

/// Validates a REST ACL (`{"*":{"read":true},"<userId>":{"write":true},"role:R":{…}}`) and
/// returns it without `false` entries, as Parse stores it.
pub fn normalize_acl(value: &Value) -> Result<Value, ParseError> {
    let invalid = || ParseError::new(code::INVALID_ACL, "Invalid ACL.");
    let entries = value.as_object().ok_or_else(invalid)?;
    let mut out = Map::new();
    for (who, perms) in entries {
        if who.is_empty() || who.starts_with("*") && who != "*" {
            return Err(invalid());
        }
        let perms = perms.as_object().ok_or_else(invalid)?;
        let mut kept = Map::new();
        for (perm, allowed) in perms {
            if perm != "read" && perm != "write" {
                return Err(invalid());
            }
            match allowed {
                Value::Bool(true) => {
                    kept.insert(perm.clone(), Value::Bool(true));
                }
                Value::Bool(false) => {}
                _ => return Err(invalid()),
            }
        }
        if !kept.is_empty() {
            out.insert(who.clone(), Value::Object(kept));
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(v: Value) -> Result<Option<FieldType>, ParseError> {
        let (normalized, t) = normalize(&v)?;
        assert_eq!(
            type_of(&normalized),
            t,
            "type_of agrees with normalize for {v}"
        );
        Ok(t)
    }

    #[test]
    fn classifies_every_encoding() {
        assert_eq!(ty(json!("a")).unwrap(), Some(FieldType::String));
        assert_eq!(ty(json!(1.5)).unwrap(), Some(FieldType::Number));
        assert_eq!(ty(json!(true)).unwrap(), Some(FieldType::Boolean));
        assert_eq!(ty(json!(null)).unwrap(), None);
        assert_eq!(ty(json!([1, "a"])).unwrap(), Some(FieldType::Array));
        assert_eq!(ty(json!({"a": {"b": 1}})).unwrap(), Some(FieldType::Object));
        assert_eq!(
            ty(json!({"__type": "Date", "iso": "2011-08-21T18:02:52.249Z"})).unwrap(),
            Some(FieldType::Date)
        );
        assert_eq!(
            ty(json!({"__type": "Pointer", "className": "_User", "objectId": "x"})).unwrap(),
            Some(FieldType::Pointer("_User".into()))
        );
        assert_eq!(
            ty(json!({"__type": "Relation", "className": "Post"})).unwrap(),
            Some(FieldType::Relation("Post".into()))
        );
        assert_eq!(
            ty(json!({"__type": "File", "name": "a.txt"})).unwrap(),
            Some(FieldType::File)
        );
        assert_eq!(
            ty(json!({"__type": "GeoPoint", "latitude": 40.0, "longitude": -30.0})).unwrap(),
            Some(FieldType::GeoPoint)
        );
        assert_eq!(
            ty(json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]})).unwrap(),
            Some(FieldType::Polygon)
        );
        assert_eq!(
            ty(json!({"__type": "Bytes", "base64": "aGVsbG8="})).unwrap(),
            Some(FieldType::Bytes)
        );
    }

    #[test]
    fn rejects_malformed_encodings() {
        assert_eq!(
            ty(json!({"__type": "Date", "iso": "nope"}))
                .unwrap_err()
                .code,
            111
        );
        assert_eq!(
            ty(json!({"__type": "Pointer", "className": "X"}))
                .unwrap_err()
                .code,
            111
        );
        assert_eq!(ty(json!({"__type": "Wat"})).unwrap_err().code, 111);
        assert_eq!(
            ty(json!({"__type": "GeoPoint", "latitude": 91, "longitude": 0}))
                .unwrap_err()
                .code,
            107
        );
        assert_eq!(
            ty(json!({"__type": "Bytes", "base64": 5}))
                .unwrap_err()
                .code,
            111
        );
        assert_eq!(ty(json!({"a": {"b.c": 1}})).unwrap_err().code, 121);
        assert_eq!(
            ty(json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1]]}))
                .unwrap_err()
                .code,
            107
        );
    }

    #[test]
    fn dates_are_normalised_to_millis() {
        let (v, _) = normalize(&json!({"__type": "Date", "iso": "2020-01-01T00:00:00Z"})).unwrap();
        assert_eq!(v["iso"], "2020-01-01T00:00:00.000Z");
    }

    #[test]
    fn acl_drops_false_and_rejects_garbage() {
        let acl =
            normalize_acl(&json!({"*": {"read": true, "write": false}, "u1": {"write": true}}))
                .unwrap();
        assert_eq!(acl, json!({"*": {"read": true}, "u1": {"write": true}}));
        assert_eq!(
            normalize_acl(&json!({"*unresolved": {"read": true}}))
                .unwrap_err()
                .code,
            123
        );
        assert_eq!(
            normalize_acl(&json!({"u": {"read": 1}})).unwrap_err().code,
            123
        );
        assert_eq!(normalize_acl(&json!([1])).unwrap_err().code, 123);
    }
}
