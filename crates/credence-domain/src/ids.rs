//! Typed row identifiers, so a category id can never be passed where a customer id belongs.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw database value.
            #[must_use]
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A customer's numeric id (the UUID is its other, stable name).
    CustomerId
);
id_type!(
    /// A customer project's id (assigned by the store).
    ProjectId
);
id_type!(
    /// A customer category's id.
    CategoryId
);
id_type!(
    /// A customer segmentation's id.
    SegmentationId
);
id_type!(
    /// A payment type's id.
    PaymentTypeId
);
id_type!(
    /// A region's id.
    RegionId
);
id_type!(
    /// A user's id: a person or an API principal.
    UserId
);
