//! A customer's logo: stored as its variants (resized, re-encoded) when a write carries one,
//! the old one dropped when replaced, and served by variant.

// Split from the parent module, whose imports it shares.
use super::*;

impl CustomerService {
    /// Decodes an uploaded logo within bounds, renders its `small_` and `medium_` copies and
    /// stores all three; returns the name they share.
    pub(super) async fn store_logo(
        &self,
        customer: Uuid,
        logo: Option<LogoUpload>,
        now: DateTime<Utc>,
    ) -> Result<Option<LogoName>, SaveFailure> {
        let Some(logo) = logo else {
            return Ok(None);
        };
        let boxes: Vec<u32> = LogoVariant::ALL
            .iter()
            .filter_map(|v| v.bounding_box())
            .collect();
        let rendered = self
            .media
            .images
            .render(&logo.bytes, logo.kind, IMAGE_BOUNDS, &boxes)
            .await
            .map_err(InputError::from)?;
        if rendered.len() != boxes.len() {
            return Err(StoreError::Unexpected("the image renderer skipped a size".into()).into());
        }
        let nonce = Uuid::new_v4().as_u128();
        let name = LogoName::new(now.timestamp_millis(), nonce, &logo);
        let mut renditions = rendered.into_iter();
        for variant in LogoVariant::ALL {
            let bytes = match variant.bounding_box() {
                None => logo.bytes.clone(),
                Some(_) => renditions.next().unwrap_or_default(),
            };
            let key = BlobKey::logo(customer, &name.file(variant));
            if let Err(e) = self.media.blobs.put(&key, &bytes).await {
                self.drop_logo(customer, Some(&name)).await;
                return Err(e.into());
            }
        }
        Ok(Some(name))
    }

    /// Best-effort removal of a logo's renditions that no row points to (any more).
    pub(super) async fn drop_logo(&self, customer: Uuid, logo: Option<&LogoName>) {
        let Some(logo) = logo else {
            return;
        };
        for variant in LogoVariant::ALL {
            let key = BlobKey::logo(customer, &logo.file(variant));
            let _ = self.media.blobs.delete(&key).await;
        }
    }

    /// One rendition of a customer's logo (`GET /customers/{id}/logo/{file}`): the bytes and
    /// their media type.
    ///
    /// This use case takes no principal: a logo is shown by `<img src>`, which sends no key,
    /// so the file's name, random for every upload, is the credential (decision 0036). Only
    /// the current logo of a live customer is served.
    ///
    /// # Errors
    /// [`GetCustomerError::LogoNotFound`] alike for a customer that does not exist, is
    /// archived, or has no logo of that name, so the answer tells a guesser nothing.
    pub async fn logo(
        &self,
        key: &CustomerKey,
        file: &str,
    ) -> Result<(Vec<u8>, &'static str), GetCustomerError> {
        let not_found = || GetCustomerError::LogoNotFound(file.to_owned());
        let customer = self.customers.get(key).await?.ok_or_else(not_found)?;
        let logo = customer.data.logo.as_ref().ok_or_else(not_found)?;
        let variant = logo.variant_of(file).ok_or_else(not_found)?;
        let bytes = self
            .media
            .blobs
            .get(&BlobKey::logo(customer.uuid, &logo.file(variant)))
            .await?
            .ok_or_else(|| {
                StoreError::Unexpected(format!("the logo {file} has no bytes").into())
            })?;
        Ok((bytes, logo.mime()))
    }
}
