//! Key role assignments of one workspace: which team member holds which role on which
//! account or organization, and the reverse index that answers "book of business" questions
//! (every customer a team member is responsible for) without a scan.

use foldhash::{HashMap, HashSet};

use crate::assignments::{Customer, RoleKey};
use crate::ids::AdminId;

#[derive(Debug, Default)]
pub struct KeyRoleBook {
    /// Per customer, its roles and holders (a handful at most, so a small vector).
    by_customer: HashMap<Customer, Vec<(RoleKey, AdminId)>>,
    /// Per team member, the (customer, role) pairs they hold.
    by_admin: HashMap<AdminId, HashSet<(Customer, RoleKey)>>,
}

impl KeyRoleBook {
    /// Gives `role` on `customer` to `admin` (`None`: nobody). One holder per role.
    pub fn set(&mut self, customer: Customer, role: &RoleKey, admin: Option<AdminId>) {
        let roles = self.by_customer.entry(customer).or_default();
        if let Some(i) = roles.iter().position(|(r, _)| r == role) {
            let (_, previous) = roles.remove(i);
            if let Some(set) = self.by_admin.get_mut(&previous) {
                set.remove(&(customer, role.clone()));
                if set.is_empty() {
                    self.by_admin.remove(&previous);
                }
            }
        }
        if let Some(admin) = admin {
            roles.push((role.clone(), admin));
            roles.sort();
            self.by_admin
                .entry(admin)
                .or_default()
                .insert((customer, role.clone()));
        }
        if roles.is_empty() {
            self.by_customer.remove(&customer);
        }
    }

    /// The roles of a customer and who holds them, sorted by role key.
    pub fn of(&self, customer: Customer) -> &[(RoleKey, AdminId)] {
        self.by_customer.get(&customer).map_or(&[], Vec::as_slice)
    }

    /// Who holds `role` on `customer`.
    pub fn holder(&self, customer: Customer, role: &str) -> Option<AdminId> {
        self.of(customer)
            .iter()
            .find(|(r, _)| r.as_str() == role)
            .map(|(_, a)| *a)
    }

    /// The customers on which `admin` holds `role` (any role when `None`), each once.
    pub fn book_of(&self, admin: AdminId, role: Option<&str>) -> Vec<Customer> {
        let Some(held) = self.by_admin.get(&admin) else {
            return Vec::new();
        };
        let mut customers: Vec<Customer> = held
            .iter()
            .filter(|(_, r)| role.is_none_or(|want| r.as_str() == want))
            .map(|(c, _)| *c)
            .collect();
        customers.sort_unstable();
        customers.dedup();
        customers
    }

    pub fn forget_customer(&mut self, customer: Customer) {
        let roles: Vec<RoleKey> = self.of(customer).iter().map(|(r, _)| r.clone()).collect();
        for role in roles {
            self.set(customer, &role, None);
        }
    }

    pub fn forget_admin(&mut self, admin: AdminId) {
        for (customer, role) in self.held_by(admin) {
            self.set(customer, &role, None);
        }
    }

    /// The customers on which someone holds `role` (a scan: for rare role removals).
    pub fn holders_of_role(&self, role: &str) -> Vec<Customer> {
        self.by_customer
            .iter()
            .filter(|(_, roles)| roles.iter().any(|(r, _)| r.as_str() == role))
            .map(|(c, _)| *c)
            .collect()
    }

    /// The (customer, role) pairs `admin` holds.
    pub fn held_by(&self, admin: AdminId) -> Vec<(Customer, RoleKey)> {
        self.by_admin
            .get(&admin)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn forget_role(&mut self, role: &RoleKey) {
        for customer in self.holders_of_role(role.as_str()) {
            self.set(customer, role, None);
        }
    }

    /// How many (customer, role) assignments there are.
    pub fn len(&self) -> usize {
        self.by_customer.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_customer.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, OrganizationId};

    #[test]
    fn one_holder_per_role_and_a_reverse_index() {
        let mut book = KeyRoleBook::default();
        let (a, b) = (AdminId::generate(), AdminId::generate());
        let acct = Customer::Account(AccountId::generate());
        let org = Customer::Organization(OrganizationId::generate());
        let csm = RoleKey::csm();
        let ae = RoleKey::account_executive();
        book.set(acct, &csm, Some(a));
        book.set(org, &csm, Some(a));
        book.set(acct, &ae, Some(a));
        assert_eq!(book.book_of(a, None).len(), 2);
        assert_eq!(book.book_of(a, Some("accountExecutive")), vec![acct]);
        // Reassigning moves the customer from one book to the other.
        book.set(acct, &csm, Some(b));
        assert_eq!(book.holder(acct, "csm"), Some(b));
        assert_eq!(book.book_of(a, Some("csm")), vec![org]);
        assert_eq!(book.book_of(b, None), vec![acct]);
        book.forget_admin(a);
        assert_eq!(book.holder(acct, "accountExecutive"), None);
        assert!(book.book_of(a, None).is_empty());
        assert_eq!(book.len(), 1);
        book.forget_customer(acct);
        assert!(book.is_empty());
    }

    #[test]
    fn forgetting_a_role_vacates_it_everywhere() {
        let mut book = KeyRoleBook::default();
        let admin = AdminId::generate();
        let impl_role = RoleKey::parse("k", "implementation").unwrap();
        let accounts: Vec<Customer> = (0..3)
            .map(|_| Customer::Account(AccountId::generate()))
            .collect();
        for c in &accounts {
            book.set(*c, &impl_role, Some(admin));
            book.set(*c, &RoleKey::csm(), Some(admin));
        }
        book.forget_role(&impl_role);
        assert_eq!(book.len(), 3);
        assert!(book.book_of(admin, Some("implementation")).is_empty());
    }
}
