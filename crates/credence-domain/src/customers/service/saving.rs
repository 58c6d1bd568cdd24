//! Writing a customer: a new one with its logo and links, and a change merged onto the
//! customer as stored, at the revision it was read at (see
//! [`crate::customers::Revision`]).

// Split from the parent module, whose imports it shares.
use super::*;

/// What a write carries besides the customer's fields: a new logo, documents to attach.
pub(super) struct Extras {
    logo: Option<LogoUpload>,
    links: Vec<DocumentLink>,
}

/// A change to an existing customer, as each attempt to write it needs it.
struct Change {
    input: CustomerChanges,
    replace: bool,
    links: DocumentLinks,
    logo: Option<LogoName>,
    now: DateTime<Utc>,
}

impl Extras {
    pub(super) fn take(input: &mut CustomerChanges) -> Self {
        Self {
            logo: input.logo.take(),
            links: std::mem::take(&mut input.documents),
        }
    }
}

impl CustomerService {
    /// Merges `input` onto `current` and writes it at `current`'s revision. A write that
    /// loses a race to another reads the customer again and merges again, so neither change
    /// is written over the other; a client that named the revision it `expected` is told
    /// instead. The write's document links are checked, and its logo rendered and stored,
    /// once, whatever the number of attempts; the renditions of the logo it replaced are
    /// dropped after it, its own if it is refused (see [`Self::insert_new`]).
    pub(super) async fn save_over(
        &self,
        principal: &Principal,
        current: Customer,
        mut input: CustomerChanges,
        replace: bool,
        expected: Option<Revision>,
    ) -> Result<Customer, UpdateCustomerError> {
        let extras = Extras::take(&mut input);
        let now = self.clock.now();
        let links = self.links(principal, extras.links, now).await?;
        let logo = self.store_logo(current.uuid, extras.logo, now).await?;
        let uuid = current.uuid;
        let change = Change {
            input,
            replace,
            links,
            logo: logo.clone(),
            now,
        };
        match self.write_over(principal, current, &change, expected).await {
            Ok((mut saved, replaced)) => {
                if logo.is_some() && replaced.data.logo != logo {
                    self.drop_logo(uuid, replaced.data.logo.as_ref()).await;
                }
                hide_internal(principal, &mut saved);
                Ok(saved)
            }
            Err(e) => {
                // A refusal wrote nothing, so its logo goes at once. A store failure may have
                // committed unseen (a connection lost around `COMMIT`): its renditions stay, and
                // the orphan sweep removes them if no row names them.
                if !matches!(e, UpdateCustomerError::Store(_)) {
                    self.drop_logo(uuid, logo.as_ref()).await;
                }
                Err(e)
            }
        }
    }

    /// The attempts of [`Self::save_over`]: the customer written, and the customer it replaced.
    async fn write_over(
        &self,
        principal: &Principal,
        mut current: Customer,
        change: &Change,
        expected: Option<Revision>,
    ) -> Result<(Customer, Customer), UpdateCustomerError> {
        let names_creator = change.input.user.is_present();
        for _ in 0..WRITE_ATTEMPTS {
            if expected.is_some_and(|revision| revision != current.revision) {
                return Err(UpdateCustomerError::Changed);
            }
            let mut data = self
                .build(
                    principal,
                    change.input.clone(),
                    Some(&current),
                    !change.replace,
                )
                .await?;
            // A replacement resets what the client can write, not who created the customer
            // (only an admin may name another creator, with `userId`).
            if change.replace && !names_creator {
                data.created_by.clone_from(&current.data.created_by);
            }
            if change.logo.is_some() {
                data.logo.clone_from(&change.logo);
            }
            let written = self
                .customers
                .update(
                    current.id,
                    current.revision,
                    &data,
                    &change.links,
                    principal.user_id(),
                    change.now,
                )
                .await;
            let key = CustomerKey::Id(current.id);
            match written {
                Ok(Some(saved)) => return Ok((saved, current)),
                Ok(None) => return Err(UpdateCustomerError::NotFound(key)),
                Err(WriteError::Stale) if expected.is_none() => {
                    current = self
                        .find_in_scope(principal, &key)
                        .await?
                        .ok_or(UpdateCustomerError::NotFound(key))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(UpdateCustomerError::Changed)
    }

    /// Inserts a new customer with its logo and document links. The logo's renditions are
    /// stored first and dropped again if the insert is refused: a crash in between, or a
    /// failure that may have committed, leaves unreferenced bytes for the orphan sweep, never
    /// a customer whose logo has none.
    pub(super) async fn insert_new(
        &self,
        principal: &Principal,
        uuid: Uuid,
        mut data: CustomerData,
        extras: Extras,
    ) -> Result<Customer, SaveFailure> {
        let now = self.clock.now();
        let links = self.links(principal, extras.links, now).await?;
        let logo = self.store_logo(uuid, extras.logo, now).await?;
        if logo.is_some() {
            data.logo.clone_from(&logo);
        }
        let new = NewCustomer {
            uuid,
            data,
            now,
            links,
        };
        match self.customers.insert(&new).await {
            Ok(mut customer) => {
                hide_internal(principal, &mut customer);
                Ok(customer)
            }
            Err(e) => {
                // As in `save_over`: only a refusal surely wrote nothing.
                if !matches!(e, WriteError::Store(_)) {
                    self.drop_logo(uuid, logo.as_ref()).await;
                }
                Err(e.into())
            }
        }
    }
}
