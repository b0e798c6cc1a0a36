//! Turns the constraints a read model cannot evaluate alone into plain ones: each sub-query
//! (`$inQuery`, `$notInQuery`, `$select`, `$dontSelect`) runs once and becomes an `$in`/`$nin`
//! of what it found; `$relatedTo` and constraints on Relation fields become `objectId` sets read
//! from the relation join table.

use futures::future::BoxFuture;
use futures::FutureExt;
use model::query::{Cond, Filter, Query, SubQuery};
use model::{ClassSchema, FieldType, Map};
use serde_json::{json, Value};

use api::{ApiError, RequestContext};

use crate::{store_error, QueryApi};

impl QueryApi {
    /// `filter` with every sub-query, `$relatedTo` and Relation-field constraint resolved.
    pub(crate) fn resolve<'a>(
        &'a self,
        ctx: &'a RequestContext,
        schema: Option<&'a ClassSchema>,
        filter: Filter,
    ) -> BoxFuture<'a, Result<Filter, ApiError>> {
        async move {
            Ok(match filter {
                Filter::And(fs) => Filter::And(self.resolve_all(ctx, schema, fs).await?),
                Filter::Or(fs) => Filter::Or(self.resolve_all(ctx, schema, fs).await?),
                Filter::Nor(fs) => Filter::Nor(self.resolve_all(ctx, schema, fs).await?),
                Filter::RelatedTo {
                    class_name,
                    object_id,
                    key,
                } => {
                    let ids = self
                        .store()
                        .related(&ctx.app.app_id, &class_name, &key, &object_id)
                        .await
                        .map_err(store_error)?;
                    object_id_in(ids, true)
                }
                Filter::Field { path, cond } => {
                    let cond = self.resolve_cond(ctx, cond).await?;
                    let relation = schema.and_then(|s| match s.field_type(&path) {
                        Some(FieldType::Relation(_)) => Some(s.class_name.as_str()),
                        _ => None,
                    });
                    match relation {
                        Some(class) => self.relation_filter(ctx, class, &path, cond).await?,
                        None => Filter::Field { path, cond },
                    }
                }
            })
        }
        .boxed()
    }

    async fn resolve_all(
        &self,
        ctx: &RequestContext,
        schema: Option<&ClassSchema>,
        filters: Vec<Filter>,
    ) -> Result<Vec<Filter>, ApiError> {
        let mut out = Vec::with_capacity(filters.len());
        for f in filters {
            out.push(self.resolve(ctx, schema, f).await?);
        }
        Ok(out)
    }

    async fn resolve_cond(&self, ctx: &RequestContext, cond: Cond) -> Result<Cond, ApiError> {
        Ok(match cond {
            Cond::InQuery(sub) => Cond::In(self.pointers_found(ctx, &sub).await?),
            Cond::NotInQuery(sub) => Cond::Nin(self.pointers_found(ctx, &sub).await?),
            Cond::Select { query, key } => Cond::In(self.values_found(ctx, &query, &key).await?),
            Cond::DontSelect { query, key } => {
                Cond::Nin(self.values_found(ctx, &query, &key).await?)
            }
            other => other,
        })
    }

    /// Runs a sub-query (no limit, as in Parse Server) and returns its class and objects.
    async fn run_sub_query(
        &self,
        ctx: &RequestContext,
        sub: &SubQuery,
    ) -> Result<(String, Vec<Map>), ApiError> {
        model::names::check_client_access(&sub.class_name, "find", ctx.auth.is_master())?;
        let query = Query {
            filter: sub.filter.clone(),
            limit: usize::MAX,
            redirect_class_name_for_key: sub.redirect_class_name_for_key.clone(),
            ..Query::default()
        };
        let (class, schema, query) = self.prepare(ctx, &sub.class_name, query).await?;
        let found = self
            .find_prepared(ctx, &class, schema.as_ref(), &query)
            .await?;
        Ok((class, found.into_iter().map(|o| o.fields).collect()))
    }

    async fn pointers_found(
        &self,
        ctx: &RequestContext,
        sub: &SubQuery,
    ) -> Result<Vec<Value>, ApiError> {
        let (class, found) = self.run_sub_query(ctx, sub).await?;
        Ok(found
            .iter()
            .filter_map(|o| o.get("objectId").and_then(Value::as_str))
            .map(|id| model::value::pointer(&class, id))
            .collect())
    }

    /// The values of `key` (a dotted path) in the sub-query's objects; objects without it give
    /// nothing.
    async fn values_found(
        &self,
        ctx: &RequestContext,
        sub: &SubQuery,
        key: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let (_, found) = self.run_sub_query(ctx, sub).await?;
        Ok(found
            .iter()
            .filter_map(|o| {
                let mut parts = key.split('.');
                let mut cur = o.get(parts.next()?)?;
                for p in parts {
                    cur = cur.get(p)?;
                }
                Some(select_value(key, cur))
            })
            .collect())
    }

    /// A constraint on a Relation field: "the relation holds this object" (equality, `$in`),
    /// or its negation (`$ne`, `$nin`), as a set of owner ids.
    async fn relation_filter(
        &self,
        ctx: &RequestContext,
        class: &str,
        field: &str,
        cond: Cond,
    ) -> Result<Filter, ApiError> {
        let (targets, holds) = match &cond {
            Cond::Eq(v) => (vec![v.clone()], true),
            Cond::In(vs) => (vs.clone(), true),
            Cond::Ne(v) => (vec![v.clone()], false),
            Cond::Nin(vs) => (vs.clone(), false),
            Cond::Exists(_) => return Ok(Filter::And(vec![])),
            _ => {
                return Err(model::ParseError::invalid_query(format!(
                    "this constraint is not supported on the Relation field {field}"
                ))
                .into())
            }
        };
        let ids: Vec<String> = targets
            .iter()
            .filter_map(|t| t.get("objectId").and_then(Value::as_str))
            .map(String::from)
            .collect();
        let owners = self
            .store()
            .owners(&ctx.app.app_id, class, field, &ids)
            .await
            .map_err(store_error)?;
        Ok(object_id_in(owners, holds))
    }
}

/// `createdAt`/`updatedAt` are selected as Dates, as a find shows them.
fn select_value(key: &str, v: &Value) -> Value {
    match (key, v) {
        ("createdAt" | "updatedAt", Value::String(s)) => json!({"__type": "Date", "iso": s}),
        _ => v.clone(),
    }
}

/// `objectId` in (or not in) `ids`.
fn object_id_in(ids: Vec<String>, inside: bool) -> Filter {
    let ids = ids.into_iter().map(Value::String).collect();
    Filter::Field {
        path: "objectId".into(),
        cond: if inside {
            Cond::In(ids)
        } else {
            Cond::Nin(ids)
        },
    }
}
