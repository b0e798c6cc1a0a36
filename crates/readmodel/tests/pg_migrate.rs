//! The PostgreSQL read model's start-up migrations, on a read model made the old way. Needs
//! PostgreSQL at `CHRONICLE_TEST_DATABASE_URL`.

use readmodel::postgres::PgStore;

#[tokio::test]
async fn public_objects_get_a_star_rperm_once() {
    let url = std::env::var("CHRONICLE_TEST_DATABASE_URL")
        .expect("CHRONICLE_TEST_DATABASE_URL must point at a PostgreSQL database");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let root = format!("mig_{suffix}");
    let app = format!("{root}_0123456789abcdef");
    for stmt in [
        format!("CREATE SCHEMA \"{app}\""),
        format!(
            "CREATE TABLE \"{app}\".\"Thing\" (object_id text PRIMARY KEY, data jsonb, _rperm text[], _wperm text[])"
        ),
        format!(
            "INSERT INTO \"{app}\".\"Thing\" VALUES ('public', '{{}}', NULL, NULL), ('private', '{{}}', '{{u1}}', '{{u1}}')"
        ),
    ] {
        sqlx::query(&stmt).execute(&pool).await.unwrap();
    }
    PgStore::connect(&url, &root, 2).await.unwrap();
    let rows: Vec<(String, Vec<String>)> = sqlx::query_as(&format!(
        "SELECT object_id, _rperm FROM \"{app}\".\"Thing\" ORDER BY object_id"
    ))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("private".to_string(), vec!["u1".to_string()]),
            ("public".to_string(), vec!["*".to_string()]),
        ]
    );
    // Done once: a later NULL (which nothing writes any more) is left alone.
    sqlx::query(&format!(
        "UPDATE \"{app}\".\"Thing\" SET _rperm = NULL WHERE object_id = 'public'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    PgStore::connect(&url, &root, 2).await.unwrap();
    let again: Option<Vec<String>> = sqlx::query_scalar(&format!(
        "SELECT _rperm FROM \"{app}\".\"Thing\" WHERE object_id = 'public'"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(again, None);
    for schema in [&app, &root] {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
    }
}
