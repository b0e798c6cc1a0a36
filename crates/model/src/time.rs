//! Timestamps in Parse's encoding: ISO 8601 in UTC with milliseconds (`2011-08-21T18:02:52.249Z`).

use chrono::{DateTime, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

/// Parse's ISO string for a timestamp, always with milliseconds and `Z`.
pub fn to_iso(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO 8601 date as Parse clients send it (with or without fractional seconds).
pub fn parse_iso(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse_iso("2011-08-21T18:02:52.249Z").unwrap();
        assert_eq!(to_iso(&t), "2011-08-21T18:02:52.249Z");
        let t = parse_iso("2011-08-21T18:02:52Z").unwrap();
        assert_eq!(to_iso(&t), "2011-08-21T18:02:52.000Z");
        assert!(parse_iso("yesterday").is_none());
    }
}
