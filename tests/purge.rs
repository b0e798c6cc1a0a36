//! `DELETE /purge/<class>` over HTTP: every object of the class goes (with its relation
//! memberships), the schema stays, other classes are untouched; master key only.

mod common;

use common::{create_many, send, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn purge_deletes_every_object_and_keeps_the_schema() {
    let s = TestServer::start().await;
    let ids = create_many(&s, "Doomed", (0..5).map(|i| json!({"n": i})).collect()).await;
    let kept = create_many(&s, "Kept", vec![json!({"n": 1})]).await;
    let (status, res) = s
        .put(
            &format!("/parse/classes/Doomed/{}", ids[0]),
            json!({"likes": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "Kept", "objectId": kept[0]}]}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let related = json!({"$relatedTo": {"object": {"__type": "Pointer", "className": "Doomed", "objectId": ids[0]}, "key": "likes"}});
    let related_count = || {
        let s = &s;
        let w = related.to_string();
        async move {
            let (status, res) = send(
                s.master(Method::GET, "/parse/classes/Kept")
                    .query(&[("where", w)]),
            )
            .await;
            assert_eq!(status, 200, "{res}");
            res["results"].as_array().map(Vec::len)
        }
    };
    assert_eq!(related_count().await, Some(1));

    let (status, res) = s.delete("/parse/purge/Doomed").await;
    assert_eq!(
        (status, res),
        (
            403,
            json!({"error": "unauthorized: master key is required"})
        )
    );
    assert_eq!(
        s.all("Doomed").await.len(),
        5,
        "nothing purged without the master key"
    );

    let (status, res) = send(s.master(Method::DELETE, "/parse/purge/Doomed")).await;
    assert_eq!((status, res), (200, json!({})));
    assert!(s.all("Doomed").await.is_empty());
    assert_eq!(s.all("Kept").await.len(), 1);
    let (status, _) = s.get(&format!("/parse/classes/Doomed/{}", ids[0])).await;
    assert_eq!(status, 404);
    // The schema stays: its types still hold, and the class still exists.
    let (status, res) = s.post("/parse/classes/Doomed", json!({"n": "text"})).await;
    assert_eq!((status, res["code"].as_i64()), (400, Some(111)), "{res}");
    let id = s.create("Doomed", json!({"n": 9})).await;
    let all = s.all("Doomed").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["objectId"], id.as_str());
    assert_eq!(
        all[0]["likes"],
        json!({"__type": "Relation", "className": "Kept"})
    );
    // Relation memberships went with their owners.
    assert_eq!(related_count().await, Some(0));
}

#[tokio::test]
async fn purging_an_unknown_class_is_103() {
    let s = TestServer::start().await;
    let (status, res) = send(s.master(Method::DELETE, "/parse/purge/Nothing")).await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 103, "error": "Class Nothing does not exist."})
        )
    );
}
