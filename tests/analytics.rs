//! Analytics over HTTP: `POST /events/AppOpened` and `/events/<name>` with dimensions and `at`,
//! answered `{}`, counted per name, dimensions and hour, and read back with the master key.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn counts(s: &TestServer, name: &str) -> Vec<Value> {
    let (status, res) = send(s.master(Method::GET, &format!("/parse/events/{name}"))).await;
    assert_eq!(status, 200, "{res}");
    res["results"].as_array().expect("results").clone()
}

#[tokio::test]
async fn events_are_counted_per_hour_and_dimensions() {
    let s = TestServer::start().await;
    let (status, res) = s.post("/parse/events/AppOpened", json!({})).await;
    assert_eq!((status, res), (200, json!({})));
    let opened = counts(&s, "AppOpened").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["count"], 1);
    assert_eq!(opened[0]["dimensions"], json!({}));

    let at = json!({"__type": "Date", "iso": "2015-03-01T15:59:11-07:00"});
    for body in [
        json!({"dimensions": {"priceRange": "1000-1500", "source": "craigslist"}, "at": at}),
        // Same dimensions in another order, same hour (22:00 UTC): counted together.
        json!({"dimensions": {"source": "craigslist", "priceRange": "1000-1500"}, "at": "2015-03-01T22:30:00Z"}),
        json!({"dimensions": {"priceRange": "0-500", "source": "craigslist"}, "at": at}),
        json!({"dimensions": {"priceRange": "1000-1500", "source": "craigslist"}, "at": {"__type": "Date", "iso": "2015-03-01T23:00:00.000Z"}}),
    ] {
        let (status, res) = s.post("/parse/events/Search", body.clone()).await;
        assert_eq!((status, res), (200, json!({})), "{body}");
    }
    let search = counts(&s, "Search").await;
    let row = |hour: &str, range: &str| {
        search
            .iter()
            .find(|r| r["hour"] == hour && r["dimensions"]["priceRange"] == range)
            .map(|r| r["count"].clone())
    };
    assert_eq!(
        row("2015-03-01T22:00:00.000Z", "1000-1500"),
        Some(json!(2)),
        "{search:?}"
    );
    assert_eq!(row("2015-03-01T22:00:00.000Z", "0-500"), Some(json!(1)));
    assert_eq!(row("2015-03-01T23:00:00.000Z", "1000-1500"), Some(json!(1)));
    assert_eq!(search.len(), 3);
    assert!(counts(&s, "Nothing").await.is_empty());
}

#[tokio::test]
async fn at_most_eight_dimensions_are_kept() {
    let s = TestServer::start().await;
    let dims: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("d{i}"), json!(format!("v{i}"))))
        .collect();
    let (status, _) = s
        .post("/parse/events/Many", json!({"dimensions": dims}))
        .await;
    assert_eq!(status, 200);
    let rows = counts(&s, "Many").await;
    let kept = rows[0]["dimensions"].as_object().unwrap();
    assert_eq!(kept.len(), 8, "{kept:?}");
    assert!(kept.contains_key("d0") && kept.contains_key("d7") && !kept.contains_key("d8"));
}

#[tokio::test]
async fn bad_analytics_requests() {
    let s = TestServer::start().await;
    for body in [
        json!({"dimensions": {"a": 1}}),
        json!({"dimensions": "x"}),
        json!({"at": "yesterday"}),
        json!({"at": {"__type": "Date", "iso": "nope"}}),
    ] {
        let (status, res) = s.post("/parse/events/Bad", body.clone()).await;
        assert_eq!(
            (status, res["code"].as_i64()),
            (400, Some(107)),
            "{body}: {res}"
        );
    }
    assert!(counts(&s, "Bad").await.is_empty(), "nothing counted");
    let (status, res) = s.get("/parse/events/Bad").await;
    assert_eq!(
        (status, res),
        (
            403,
            json!({"error": "unauthorized: master key is required"})
        )
    );
}
