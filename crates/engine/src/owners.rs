//! Owners: the user at a customer who owns the buying decision (Vitally's "account owner").
//! Kept in the engine so that owner fields (e-mail, join date, last seen, sessions) can feed
//! filters and formulas without a query; [`Owners::owner_of`] is the read API for that.

use foldhash::{HashMap, HashSet};

use crate::assignments::Customer;
use crate::ids::{AccountId, OrganizationId, UserId};

#[derive(Debug, Default)]
pub struct Owners {
    owner: HashMap<Customer, UserId>,
    /// The customers each user owns, so deleting the user clears them in one step.
    owned: HashMap<UserId, HashSet<Customer>>,
}

impl Owners {
    pub fn set(&mut self, customer: Customer, user: Option<UserId>) {
        if let Some(previous) = self.owner.remove(&customer)
            && let Some(set) = self.owned.get_mut(&previous)
        {
            set.remove(&customer);
            if set.is_empty() {
                self.owned.remove(&previous);
            }
        }
        if let Some(user) = user {
            self.owner.insert(customer, user);
            self.owned.entry(user).or_default().insert(customer);
        }
    }

    /// The owner of an account or organization.
    pub fn of(&self, customer: Customer) -> Option<UserId> {
        self.owner.get(&customer).copied()
    }

    pub fn owner_of(&self, account: AccountId) -> Option<UserId> {
        self.of(Customer::Account(account))
    }

    pub fn organization_owner_of(&self, organization: OrganizationId) -> Option<UserId> {
        self.of(Customer::Organization(organization))
    }

    /// What a user owns (for "accounts whose owner ..." questions), in no particular order.
    pub fn owned_by(&self, user: UserId) -> Vec<Customer> {
        self.owned
            .get(&user)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn forget_user(&mut self, user: UserId) {
        for customer in self.owned.remove(&user).unwrap_or_default() {
            self.owner.remove(&customer);
        }
    }

    pub fn len(&self) -> usize {
        self.owner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_the_user_clears_what_they_owned() {
        let mut owners = Owners::default();
        let (u, v) = (UserId::generate(), UserId::generate());
        let a = AccountId::generate();
        let o = OrganizationId::generate();
        owners.set(Customer::Account(a), Some(u));
        owners.set(Customer::Organization(o), Some(u));
        assert_eq!(owners.owner_of(a), Some(u));
        owners.set(Customer::Account(a), Some(v));
        assert_eq!(owners.owned_by(u), vec![Customer::Organization(o)]);
        owners.forget_user(u);
        assert_eq!(owners.organization_owner_of(o), None);
        assert_eq!(owners.owner_of(a), Some(v));
        owners.set(Customer::Account(a), None);
        assert!(owners.is_empty() && owners.owned_by(v).is_empty());
    }
}
