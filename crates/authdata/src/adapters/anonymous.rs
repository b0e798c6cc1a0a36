//! `anonymous`: no provider to ask; the client's random id is the whole account.

use async_trait::async_trait;

use crate::{has_id, AuthAdapter, AuthError};

/// Accepts any data that carries an `id`. Parse Server's adapter accepts anything and relies on
/// the signup's "some provider has an id" rule; checking here keeps the rule in one call.
#[derive(Debug, Default)]
pub struct Anonymous;

#[async_trait]
impl AuthAdapter for Anonymous {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        if has_id(provider_data) {
            Ok(())
        } else {
            Err(AuthError::Unsupported)
        }
    }
}
