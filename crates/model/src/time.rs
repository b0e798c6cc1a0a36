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

/// The hour an ISO timestamp falls in, as Parse's ISO string (`…T18:00:00.000Z`): analytics
/// are counted per hour.
pub fn hour_of(iso: &str) -> Option<String> {
    use chrono::{DurationRound, TimeDelta};
    let t = parse_iso(iso)?;
    t.duration_trunc(TimeDelta::hours(1))
        .ok()
        .map(|h| to_iso(&h))
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
        assert_eq!(
            hour_of("2015-03-01T15:59:11-07:00").as_deref(),
            Some("2015-03-01T22:00:00.000Z")
        );
    }
}
