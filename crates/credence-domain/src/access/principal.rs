//! Who is calling. Every use case takes a [`Principal`] so that scope is decided in the
//! domain, never left to a handler that might forget it.

use crate::ids::{CustomerId, UserId};

/// The role a principal acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Operators: may do everything.
    Admin,
    /// Manages its own customer and every sub-customer below it.
    Reseller,
    /// Reaches only its own customer.
    Customer,
}

impl Role {
    /// The wire name (`admin`, `reseller`, `customer`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Reseller => "reseller",
            Self::Customer => "customer",
        }
    }

    /// Parses the wire name, case-insensitively.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Self::Admin),
            "reseller" => Some(Self::Reseller),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }
}

/// The authenticated caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    user_id: Option<UserId>,
    role: Role,
    customer_id: Option<CustomerId>,
}

impl Principal {
    /// The built-in operator used until authentication exists, and by the CLI.
    #[must_use]
    pub fn system_admin() -> Self {
        Self {
            user_id: None,
            role: Role::Admin,
            customer_id: None,
        }
    }

    /// A principal acting for a known user.
    #[must_use]
    pub fn new(user_id: Option<UserId>, role: Role, customer_id: Option<CustomerId>) -> Self {
        Self {
            user_id,
            role,
            customer_id,
        }
    }

    /// The user behind the call, if any (the system admin has none).
    #[must_use]
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// The role the principal acts in.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The customer the principal is bound to (resellers and customers).
    #[must_use]
    pub fn customer_id(&self) -> Option<CustomerId> {
        self.customer_id
    }

    /// Whether the principal may use back-office functions at all.
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
