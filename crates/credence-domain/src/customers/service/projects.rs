//! A customer's projects: listed, added, renamed and removed, each a write of the whole
//! customer so the project list and the customer stay one.

// Split from the parent module, whose imports it shares.
use super::*;

impl CustomerService {
    /// A customer's projects (`GET /customers/{id}/projects`), in order.
    ///
    /// # Errors
    /// [`ProjectError::CustomerNotFound`] outside the caller's scope.
    pub async fn projects(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Vec<Project>, ProjectError> {
        Ok(self.project_owner(principal, key).await?.data.projects)
    }

    /// Adds a project at the end of the customer's list (`POST /customers/{id}/projects`).
    ///
    /// # Errors
    /// [`ProjectError::Input`] for a bad name or a full list.
    pub async fn add_project(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        name: &str,
    ) -> Result<Project, ProjectError> {
        let name = project_name(name)?;
        let saved = self
            .change_projects(principal, key, |projects| {
                if projects.len() >= MAX_PROJECTS {
                    return Err(InputError::from(CustomerRule::TooManyProjects {
                        max: MAX_PROJECTS,
                    })
                    .into());
                }
                projects.push(Project {
                    id: None,
                    name: name.clone(),
                });
                Ok(())
            })
            .await?;
        // The store keeps the order, so the new project is the last one.
        saved
            .data
            .projects
            .last()
            .cloned()
            .ok_or_else(|| StoreError::Unexpected("the added project was not stored".into()).into())
    }

    /// Renames a project (`PUT /customers/{id}/projects/{pid}`); it keeps its id and place.
    ///
    /// # Errors
    /// [`ProjectError::ProjectNotFound`] when the customer has no such project.
    pub async fn rename_project(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        id: ProjectId,
        name: &str,
    ) -> Result<Project, ProjectError> {
        let name = project_name(name)?;
        let saved = self
            .change_projects(principal, key, |projects| {
                let project = projects
                    .iter_mut()
                    .find(|p| p.id == Some(id))
                    .ok_or(ProjectError::ProjectNotFound(id))?;
                project.name = name.clone();
                Ok(())
            })
            .await?;
        saved
            .data
            .projects
            .into_iter()
            .find(|p| p.id == Some(id))
            .ok_or(ProjectError::ProjectNotFound(id))
    }

    /// Removes a project (`DELETE /customers/{id}/projects/{pid}`).
    ///
    /// # Errors
    /// [`ProjectError::ProjectNotFound`] when the customer has no such project.
    pub async fn remove_project(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        id: ProjectId,
    ) -> Result<(), ProjectError> {
        self.change_projects(principal, key, |projects| {
            let before = projects.len();
            projects.retain(|p| p.id != Some(id));
            if projects.len() == before {
                return Err(ProjectError::ProjectNotFound(id));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The customer whose projects the caller works on: the same roles and scope as
    /// [`CustomerService::update`].
    async fn project_owner(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Customer, ProjectError> {
        if !uses_back_office(principal) {
            return Err(ProjectError::Forbidden);
        }
        self.find_in_scope(principal, key)
            .await?
            .ok_or_else(|| ProjectError::CustomerNotFound(key.clone()))
    }

    /// Changes the customer's project list and writes the customer back, through the
    /// ordinary `update` port, so the list changes in the customer's own transaction. A write
    /// that loses a race to another reads the customer again and applies `change` again, so
    /// two projects added at once are both kept.
    async fn change_projects(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        change: impl Fn(&mut Vec<Project>) -> Result<(), ProjectError>,
    ) -> Result<Customer, ProjectError> {
        let mut customer = self.project_owner(principal, key).await?;
        for _ in 0..WRITE_ATTEMPTS {
            let mut data = customer.data.clone();
            change(&mut data.projects)?;
            let written = self
                .customers
                .update(
                    customer.id,
                    customer.revision,
                    &data,
                    &DocumentLinks::none(),
                    // The credit limit is written back unchanged: no history row to sign.
                    None,
                    self.clock.now(),
                )
                .await;
            match written {
                Ok(Some(saved)) => return Ok(saved),
                Ok(None) => {
                    return Err(ProjectError::CustomerNotFound(CustomerKey::Id(customer.id)));
                }
                Err(WriteError::Stale) => {
                    customer = self
                        .project_owner(principal, &CustomerKey::Id(customer.id))
                        .await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ProjectError::Changed)
    }
}
