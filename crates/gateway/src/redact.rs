//! Redaction obligations: remove named fields, at any depth, from a JSON response before
//! it reaches the client.
use serde_json::Value;

/// Removes every object member whose name is in `fields`, at any depth; returns how many
/// were removed.
pub fn redact(value: &mut Value, fields: &[String]) -> usize {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !fields.iter().any(|f| f == k));
            let mut removed = before - map.len();
            for v in map.values_mut() {
                removed += redact(v, fields);
            }
            removed
        }
        Value::Array(items) => items.iter_mut().map(|v| redact(v, fields)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_fields_are_removed_at_every_depth_and_others_kept() {
        let mut v = json!({
            "name": "Fake Person",
            "immigration_status": "x",
            "records": [{"place_of_birth": "y", "id": 1}, {"nested": {"immigration_status": "z"}}]
        });
        let n = redact(
            &mut v,
            &["immigration_status".into(), "place_of_birth".into()],
        );
        assert_eq!(n, 3);
        assert_eq!(
            v,
            json!({"name": "Fake Person", "records": [{"id": 1}, {"nested": {}}]})
        );
    }
}
