//! TEMPORARY stand-in until the SQL compiler lands (being written in parallel): matches
//! everything. Not to be committed.
use model::query::{Filter, Query, SortKey};
use sqlx::{Postgres, QueryBuilder};

pub fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, _filter: &Filter) {
    qb.push("TRUE");
}

pub fn push_order(qb: &mut QueryBuilder<'_, Postgres>, _order: &[SortKey]) {
    qb.push(" ORDER BY object_id");
}

pub fn push_page(qb: &mut QueryBuilder<'_, Postgres>, query: &Query) {
    qb.push(" LIMIT ")
        .push_bind(query.limit as i64)
        .push(" OFFSET ")
        .push_bind(query.skip as i64);
}
