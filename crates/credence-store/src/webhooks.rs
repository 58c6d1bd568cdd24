//! Webhook endpoints and their signing secrets: rows of `webhook_endpoints` and
//! `webhook_secrets` (their deliveries are in [`deliveries`]). Secrets are stored as given
//! (deliveries are signed with them); an endpoint's current secret has no `expires_at`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::ids::CustomerId;
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::StoreError;
use credence_domain::values::FreeText;
use credence_domain::webhooks::{
    EndpointChanges, EndpointId, EventSelection, NewEndpoint, SigningSecrets, StoredSecret,
    WebhookEndpoint, WebhookSecret, WebhookStore, WebhookUrl,
};
use diesel::prelude::*;

use crate::Store;
use crate::customers::to_db_time;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::{webhook_deliveries, webhook_endpoints, webhook_secrets};

mod deliveries;

/// The separator of the stored `types` (no type or family name holds one).
const TYPES_SEPARATOR: char = ',';

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointRow {
    id: i64,
    customer_id: Option<i64>,
    url: String,
    types: String,
    description: Option<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl EndpointRow {
    fn into_domain(self) -> Result<WebhookEndpoint, Failure> {
        let names: Vec<&str> = self.types.split(TYPES_SEPARATOR).collect();
        let types =
            EventSelection::parse(&names).map_err(|e| Failure::corrupt("webhook types", e))?;
        Ok(WebhookEndpoint {
            id: EndpointId(self.id),
            url: WebhookUrl::from_trusted(self.url),
            types,
            description: self.description.map(FreeText::from_trusted),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            customer: self.customer_id.map(CustomerId),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

/// The changed columns of a `PATCH`; `None` leaves a column as it is.
#[derive(AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointChangeset {
    url: Option<String>,
    types: Option<String>,
    description: Option<Option<String>>,
    enabled: Option<bool>,
    disabled_reason: Option<Option<String>>,
    updated_at: NaiveDateTime,
}

impl EndpointChangeset {
    fn new(changes: &EndpointChanges, now: DateTime<Utc>) -> Self {
        Self {
            url: changes.url.as_ref().map(|u| u.as_str().to_owned()),
            types: changes.types.as_ref().map(stored_types),
            description: changes
                .description
                .as_ref()
                .map(|d| d.as_ref().map(|t| t.as_str().to_owned())),
            enabled: changes.enabled,
            disabled_reason: changes.clears_disabled_reason().then_some(None),
            updated_at: to_db_time(now),
        }
    }
}

fn stored_types(types: &EventSelection) -> String {
    types.names().join(&TYPES_SEPARATOR.to_string())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_secrets)]
struct SecretRow {
    secret: String,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

fn load_endpoint(conn: &mut AnyConnection, id: i64) -> Result<Option<WebhookEndpoint>, Failure> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?
        .map(EndpointRow::into_domain)
        .transpose()
}

fn insert_secret(
    conn: &mut AnyConnection,
    endpoint: i64,
    secret: &WebhookSecret,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    diesel::insert_into(webhook_secrets::table)
        .values((
            webhook_secrets::endpoint_id.eq(endpoint),
            webhook_secrets::secret.eq(secret.expose()),
            webhook_secrets::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[async_trait]
impl WebhookStore for Store {
    async fn create_endpoint(&self, new: &NewEndpoint) -> Result<WebhookEndpoint, StoreError> {
        let new = new.clone();
        Ok(self
            .database()
            .write(move |conn| {
                let now = to_db_time(new.now);
                let id: i64 = diesel::insert_into(webhook_endpoints::table)
                    .values((
                        webhook_endpoints::customer_id.eq(new.customer.map(|c| c.0)),
                        webhook_endpoints::url.eq(new.url.as_str()),
                        webhook_endpoints::types.eq(stored_types(&new.types)),
                        webhook_endpoints::description
                            .eq(new.description.as_ref().map(FreeText::as_str)),
                        webhook_endpoints::enabled.eq(new.enabled),
                        webhook_endpoints::created_at.eq(now),
                        webhook_endpoints::updated_at.eq(now),
                    ))
                    .returning(webhook_endpoints::id)
                    .get_result(conn)?;
                insert_secret(conn, id, &new.secret, now)?;
                load_endpoint(conn, id)?
                    .ok_or_else(|| Failure::Broken("a created endpoint vanished".into()))
            })
            .await?)
    }

    async fn endpoints(
        &self,
        owner: Option<CustomerId>,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, StoreError> {
        let (limit, offset) = crate::paging::bounds(page);
        Ok(self
            .database()
            .read(move |conn| {
                let owned = || {
                    let mut query = webhook_endpoints::table.into_boxed();
                    if let Some(owner) = owner {
                        query = query.filter(webhook_endpoints::customer_id.eq(owner.0));
                    }
                    query
                };
                let count: i64 = owned().count().get_result(conn)?;
                let items = owned()
                    .order(webhook_endpoints::id)
                    .limit(limit)
                    .offset(offset)
                    .select(EndpointRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(EndpointRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(crate::paging::page(items, count))
            })
            .await?)
    }

    async fn endpoint(&self, id: EndpointId) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| load_endpoint(conn, id.0))
            .await?)
    }

    async fn update_endpoint(
        &self,
        id: EndpointId,
        changes: &EndpointChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let changes = EndpointChangeset::new(changes, now);
        Ok(self
            .database()
            .write(move |conn| {
                let updated = diesel::update(webhook_endpoints::table.find(id.0))
                    .set(&changes)
                    .execute(conn)?;
                if updated == 0 {
                    return Ok(None);
                }
                load_endpoint(conn, id.0)
            })
            .await?)
    }

    async fn delete_endpoint(&self, id: EndpointId) -> Result<bool, StoreError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::delete(
                    webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id.0)),
                )
                .execute(conn)?;
                diesel::delete(
                    webhook_secrets::table.filter(webhook_secrets::endpoint_id.eq(id.0)),
                )
                .execute(conn)?;
                let deleted = diesel::delete(webhook_endpoints::table.find(id.0)).execute(conn)?;
                Ok(deleted > 0)
            })
            .await?)
    }

    async fn rotate_secret(
        &self,
        id: EndpointId,
        secret: &WebhookSecret,
        now: DateTime<Utc>,
        grace_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let secret = secret.clone();
        let (now, grace_until) = (to_db_time(now), to_db_time(grace_until));
        Ok(self
            .database()
            .write(move |conn| {
                // The endpoint's row first: two rotations of one endpoint queue here.
                let touched = diesel::update(webhook_endpoints::table.find(id.0))
                    .set(webhook_endpoints::updated_at.eq(now))
                    .execute(conn)?;
                if touched == 0 {
                    return Ok(false);
                }
                let of_endpoint = webhook_secrets::endpoint_id.eq(id.0);
                // Secrets already replaced stop now: at most two sign at once.
                diesel::delete(
                    webhook_secrets::table
                        .filter(of_endpoint)
                        .filter(webhook_secrets::expires_at.is_not_null()),
                )
                .execute(conn)?;
                diesel::update(
                    webhook_secrets::table
                        .filter(of_endpoint)
                        .filter(webhook_secrets::expires_at.is_null()),
                )
                .set(webhook_secrets::expires_at.eq(Some(grace_until)))
                .execute(conn)?;
                insert_secret(conn, id.0, &secret, now)?;
                Ok(true)
            })
            .await?)
    }

    async fn secrets(&self, id: EndpointId) -> Result<SigningSecrets, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                let rows = webhook_secrets::table
                    .filter(webhook_secrets::endpoint_id.eq(id.0))
                    .order(webhook_secrets::id)
                    .select(SecretRow::as_select())
                    .load(conn)?;
                Ok(SigningSecrets(
                    rows.into_iter()
                        .map(|row| StoredSecret {
                            secret: WebhookSecret::from_stored(row.secret),
                            created_at: row.created_at.and_utc(),
                            expires_at: row.expires_at.map(|at| at.and_utc()),
                        })
                        .collect(),
                ))
            })
            .await?)
    }
}
