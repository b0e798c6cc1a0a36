//! Queries across classes over HTTP: sub-queries (`$inQuery`, `$notInQuery`, `$select`,
//! `$dontSelect`), `$relatedTo` with `redirectClassNameForKey`, constraints on Relation fields,
//! and `include` (dot paths, arrays of pointers, `*`, with `keys`).

mod common;

use common::{create_many, find, find_where, send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn ptr(class: &str, id: &str) -> Value {
    json!({"__type": "Pointer", "className": class, "objectId": id})
}

/// The `title`s of the results, sorted.
fn titles(results: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = results
        .iter()
        .map(|o| o["title"].as_str().unwrap_or("<none>").to_string())
        .collect();
    t.sort();
    t
}

/// Authors a (fr), b (de), c (fr, retired); posts p1..p4 by a, b, c and nobody.
async fn blog(s: &TestServer) -> (Vec<String>, Vec<String>) {
    let authors = create_many(
        s,
        "Author",
        vec![
            json!({"name": "a", "country": "fr", "rank": 1}),
            json!({"name": "b", "country": "de", "rank": 2}),
            json!({"name": "c", "country": "fr", "rank": 3, "retired": true}),
        ],
    )
    .await;
    let posts = create_many(
        s,
        "Post",
        vec![
            json!({"title": "p1", "author": ptr("Author", &authors[0]), "lang": "fr"}),
            json!({"title": "p2", "author": ptr("Author", &authors[1]), "lang": "de"}),
            json!({"title": "p3", "author": ptr("Author", &authors[2]), "lang": "en", "coauthors": [ptr("Author", &authors[0]), ptr("Author", &authors[1])]}),
            json!({"title": "p4", "lang": "fr"}),
        ],
    )
    .await;
    (authors, posts)
}

async fn post_titles(s: &TestServer, where_: Value) -> Vec<String> {
    titles(&find_where(s, "Post", where_, &[]).await)
}

#[tokio::test]
async fn in_query_and_not_in_query() {
    let s = TestServer::start().await;
    blog(&s).await;
    let french = json!({"className": "Author", "where": {"country": "fr"}});
    assert_eq!(
        post_titles(&s, json!({"author": {"$inQuery": french}})).await,
        ["p1", "p3"]
    );
    assert_eq!(
        post_titles(&s, json!({"author": {"$notInQuery": french}})).await,
        ["p2", "p4"]
    );
    // On an array of pointers: any of them.
    let b = json!({"className": "Author", "where": {"name": "b"}});
    assert_eq!(
        post_titles(&s, json!({"coauthors": {"$inQuery": b}})).await,
        ["p3"]
    );
    // Nested sub-queries: comments on posts by French authors.
    let posts = find_where(&s, "Post", json!({}), &[("order", "title")]).await;
    create_many(
        &s,
        "Comment",
        posts
            .iter()
            .map(|p| json!({"title": format!("on {}", p["title"].as_str().unwrap()), "post": ptr("Post", p["objectId"].as_str().unwrap())}))
            .collect(),
    )
    .await;
    let by_french = json!({"post": {"$inQuery": {"className": "Post", "where": {"author": {"$inQuery": french}}}}});
    assert_eq!(
        titles(&find_where(&s, "Comment", by_french, &[]).await),
        ["on p1", "on p3"]
    );
    // Inside $or, and combined with other constraints.
    assert_eq!(
        post_titles(&s, json!({"$or": [{"author": {"$inQuery": {"className": "Author", "where": {"retired": true}}}}, {"lang": "de"}]})).await,
        ["p2", "p3"]
    );
    assert_eq!(
        post_titles(&s, json!({"author": {"$inQuery": french}, "lang": "fr"})).await,
        ["p1"]
    );
    // A sub-query that finds nothing, and one on a class with no objects.
    let none = json!({"className": "Author", "where": {"country": "xx"}});
    assert!(post_titles(&s, json!({"author": {"$inQuery": none}}))
        .await
        .is_empty());
    let (status, res) = send(s.master(Method::GET, "/parse/classes/Post").query(&[
        (
            "where",
            json!({"author": {"$inQuery": {"className": "Nobody", "where": {}}}}).to_string(),
        ),
        ("count", "1".into()),
    ]))
    .await;
    assert_eq!((status, res["count"].clone()), (200, json!(0)), "{res}");
    // count agrees with results
    let w = json!({"author": {"$inQuery": french}}).to_string();
    let (status, res) = find(
        &s,
        "Post",
        &[("where", w.as_str()), ("count", "1"), ("limit", "0")],
    )
    .await;
    assert_eq!((status, res["count"].clone()), (200, json!(2)), "{res}");
}

#[tokio::test]
async fn select_and_dont_select() {
    let s = TestServer::start().await;
    create_many(
        &s,
        "Team",
        vec![
            json!({"city": "Paris", "winPct": 0.7, "meta": {"region": "north"}}),
            json!({"city": "Lyon", "winPct": 0.4, "meta": {"region": "south"}}),
            json!({"city": "Nice", "winPct": 0.9}),
        ],
    )
    .await;
    create_many(
        &s,
        "Fan",
        vec![
            json!({"title": "f1", "hometown": "Paris", "region": "north"}),
            json!({"title": "f2", "hometown": "Lyon", "region": "south"}),
            json!({"title": "f3", "hometown": "Nice"}),
            json!({"title": "f4", "hometown": "Brest"}),
        ],
    )
    .await;
    let winners =
        json!({"query": {"className": "Team", "where": {"winPct": {"$gt": 0.5}}}, "key": "city"});
    let got = |w: Value| {
        let s = &s;
        async move { titles(&find_where(s, "Fan", w, &[]).await) }
    };
    assert_eq!(
        got(json!({"hometown": {"$select": winners}})).await,
        ["f1", "f3"]
    );
    assert_eq!(
        got(json!({"hometown": {"$dontSelect": winners}})).await,
        ["f2", "f4"]
    );
    // A dotted key, and a query without `where` (the iOS SDK leaves it out).
    let regions = json!({"query": {"className": "Team"}, "key": "meta.region"});
    assert_eq!(
        got(json!({"region": {"$select": regions}})).await,
        ["f1", "f2"]
    );
    for bad in [
        json!({"hometown": {"$select": {"query": {"className": "Team"}}}}),
        json!({"hometown": {"$select": {"key": "city"}}}),
        json!({"hometown": {"$select": {"query": {"className": "Team"}, "key": "city", "x": 1}}}),
        json!({"hometown": {"$dontSelect": {"query": {"where": {}}, "key": "city"}}}),
        json!({"hometown": {"$inQuery": {"where": {}}}}),
        json!({"hometown": {"$notInQuery": {"className": "Team"}}}),
        json!({"$relatedTo": {"object": {"className": "Team"}, "key": "x"}}),
    ] {
        let w = bad.to_string();
        let (status, res) = find(&s, "Fan", &[("where", w.as_str())]).await;
        assert_eq!(
            (status, res["code"].as_i64()),
            (400, Some(102)),
            "{w}: {res}"
        );
    }
}

#[tokio::test]
async fn related_to_redirect_and_relation_constraints() {
    let s = TestServer::start().await;
    let (_, posts) = blog(&s).await;
    let fans = create_many(
        &s,
        "Fan",
        vec![
            json!({"title": "f1"}),
            json!({"title": "f2"}),
            json!({"title": "f3"}),
        ],
    )
    .await;
    let like = |post: &str, fans: &[&String]| {
        let objects: Vec<Value> = fans.iter().map(|f| ptr("Fan", f)).collect();
        (
            format!("/parse/classes/Post/{post}"),
            json!({"likes": {"__op": "AddRelation", "objects": objects}}),
        )
    };
    for (path, body) in [
        like(&posts[0], &[&fans[0], &fans[1]]),
        like(&posts[1], &[&fans[1]]),
    ] {
        let (status, res) = s.put(&path, body).await;
        assert_eq!(status, 200, "{res}");
    }
    let related = |post: &str| json!({"$relatedTo": {"object": ptr("Post", post), "key": "likes"}});
    assert_eq!(
        titles(&find_where(&s, "Fan", related(&posts[0]), &[]).await),
        ["f1", "f2"]
    );
    assert!(find_where(&s, "Fan", related(&posts[3]), &[])
        .await
        .is_empty());
    assert_eq!(
        titles(
            &find_where(
                &s,
                "Fan",
                json!({"$and": [related(&posts[0]), {"title": {"$ne": "f1"}}]}),
                &[]
            )
            .await
        ),
        ["f2"]
    );
    // The JS SDK's relation.query() before it knows the target class: query the owner's class
    // with redirectClassNameForKey; results are Fans and say so.
    let w = related(&posts[0]).to_string();
    let (status, res) = find(
        &s,
        "Post",
        &[("where", w.as_str()), ("redirectClassNameForKey", "likes")],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let results = res["results"].as_array().unwrap();
    assert_eq!(titles(results), ["f1", "f2"]);
    assert!(results.iter().all(|r| r["className"] == "Fan"), "{res}");
    // A pointer on a Relation field means "the relation holds it".
    assert_eq!(
        post_titles(&s, json!({"likes": ptr("Fan", &fans[1])})).await,
        ["p1", "p2"]
    );
    assert_eq!(
        post_titles(&s, json!({"likes": ptr("Fan", &fans[0])})).await,
        ["p1"]
    );
    assert_eq!(
        post_titles(
            &s,
            json!({"likes": {"$in": [ptr("Fan", &fans[0]), ptr("Fan", &fans[2])]}})
        )
        .await,
        ["p1"]
    );
    assert_eq!(
        post_titles(&s, json!({"likes": {"$ne": ptr("Fan", &fans[0])}})).await,
        ["p2", "p3", "p4"]
    );
    assert_eq!(
        post_titles(&s, json!({"likes": {"$nin": [ptr("Fan", &fans[1])]}})).await,
        ["p3", "p4"]
    );
    // ... and a sub-query on it.
    assert_eq!(
        post_titles(
            &s,
            json!({"likes": {"$inQuery": {"className": "Fan", "where": {"title": "f1"}}}})
        )
        .await,
        ["p1"]
    );
}

#[tokio::test]
async fn include_pointers_paths_arrays_and_star() {
    let s = TestServer::start().await;
    let (authors, posts) = blog(&s).await;
    let comments = create_many(
        &s,
        "Comment",
        vec![
            json!({"text": "c1", "post": ptr("Post", &posts[0]), "related": [ptr("Post", &posts[1]), "not a pointer", ptr("Post", &posts[2])]}),
            json!({"text": "c2", "post": ptr("Post", &posts[2])}),
            json!({"text": "c3", "post": ptr("Post", "missing000")}),
        ],
    )
    .await;
    let find_c = |params: Vec<(&'static str, String)>| {
        let s = &s;
        async move {
            let mut params = params;
            params.push(("order", "text".into()));
            let (status, res) =
                send(s.req(Method::GET, "/parse/classes/Comment").query(&params)).await;
            assert_eq!(status, 200, "{res}");
            res["results"].as_array().unwrap().clone()
        }
    };
    // One level.
    let r = find_c(vec![("include", "post".into())]).await;
    assert_eq!(r[0]["post"]["__type"], "Object");
    assert_eq!(r[0]["post"]["className"], "Post");
    assert_eq!(r[0]["post"]["title"], "p1");
    assert_eq!(r[0]["post"]["objectId"], posts[0].as_str());
    assert_eq!(
        r[0]["post"]["author"],
        ptr("Author", &authors[0]),
        "not included: one level only"
    );
    // A pointer to a missing object is dropped.
    assert!(r[2].get("post").is_none(), "{}", r[2]);
    // Two levels.
    let r = find_c(vec![("include", "post.author".into())]).await;
    assert_eq!(r[0]["post"]["author"]["__type"], "Object");
    assert_eq!(r[0]["post"]["author"]["name"], "a");
    assert_eq!(r[1]["post"]["author"]["name"], "c");
    // Arrays of pointers: each included, non-pointers kept, order kept.
    let r = find_c(vec![("include", "related,related.author".into())]).await;
    let related = r[0]["related"].as_array().unwrap();
    assert_eq!(related.len(), 3);
    assert_eq!(related[0]["title"], "p2");
    assert_eq!(related[1], "not a pointer");
    assert_eq!(related[2]["author"]["name"], "c");
    // `*`: every pointer and array field of the class, one level.
    let r = find_c(vec![("include", "*".into())]).await;
    assert_eq!(r[0]["post"]["title"], "p1");
    assert_eq!(r[0]["related"][0]["title"], "p2");
    // keys with a dot include the parent and select inside it.
    let r = find_c(vec![("keys", "text,post.title".into())]).await;
    let post = r[0]["post"].as_object().unwrap();
    assert_eq!(post["title"], "p1");
    assert!(
        post.get("lang").is_none() && post.get("author").is_none(),
        "{post:?}"
    );
    assert!(post.contains_key("objectId") && post.contains_key("createdAt"));
    assert!(r[0].get("related").is_none());
    // Relation fields of an included object are shown as Relations.
    s.put(
        &format!("/parse/classes/Post/{}", posts[0]),
        json!({"likes": {"__op": "AddRelation", "objects": [ptr("Author", &authors[0])]}}),
    )
    .await;
    let r = find_c(vec![("include", "post".into())]).await;
    assert_eq!(
        r[0]["post"]["likes"],
        json!({"__type": "Relation", "className": "Author"})
    );
    // Get by id includes too.
    let (status, c) = send(
        s.req(
            Method::GET,
            &format!("/parse/classes/Comment/{}", comments[1]),
        )
        .query(&[("include", "post.author")]),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["post"]["author"]["name"], "c");
    // Including a field that holds no pointer changes nothing.
    let r = find_c(vec![("include", "text,nothing.deeper".into())]).await;
    assert_eq!(r[0]["text"], "c1");
}
