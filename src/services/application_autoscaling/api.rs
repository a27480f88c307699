//! The Application Auto Scaling API (JSON 1.1, `AnyScaleFrontendService`): each method reads or
//! changes the region's state through the store (RegisterScalableTarget through
//! `links::scaling`, which looks at ECS) and shapes the response.

use super::{Query, Registration, State, key};
use crate::api_err;
use crate::aws::pagination::Pager;
use crate::aws::{ApiError, RequestContext, Timestamp};
use crate::links;
use crate::services::Handler;
use crate::store::Store;
use crate::wire::application_autoscaling::*;

pub struct AppAutoScaling {
    store: Store,
}

impl Handler for AppAutoScaling {
    fn new(store: &Store) -> Self {
        AppAutoScaling {
            store: store.clone(),
        }
    }
}

impl AppAutoScaling {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State) -> R) -> R {
        self.store.read(&ctx.region, |s: &State| f(s))
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State, Timestamp) -> R) -> R {
        let now = Timestamp::now();
        self.store.write(&ctx.region, |s: &mut State| f(s, now))
    }
}

const PAGER: Pager = Pager {
    kind: "application-autoscaling",
    bad_size: |n, max| {
        api_err!(
            application_autoscaling::ValidationException,
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to {max}"
        )
    },
    bad_token: || {
        api_err!(
            application_autoscaling::InvalidNextTokenException,
            "Invalid token"
        )
    },
};

fn checked(
    namespace: &ServiceNamespace,
    resource_id: &str,
    dimension: &ScalableDimension,
) -> Result<super::Key, ApiError> {
    State::check_resource(namespace, resource_id, dimension)?;
    Ok(key(namespace, resource_id, dimension))
}

impl Api for AppAutoScaling {
    fn register_scalable_target(
        &self,
        ctx: &RequestContext,
        input: RegisterScalableTargetRequest,
    ) -> Result<RegisterScalableTargetResponse, ApiError> {
        let k = checked(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        )?;
        let registration = Registration {
            key: k,
            min: input.min_capacity,
            max: input.max_capacity,
            role_arn: input.role_arn,
            suspended: input.suspended_state,
            tags: input.tags,
        };
        let arn = self.store.write_region(&ctx.region, |r| {
            links::scaling::register(r, registration, Timestamp::now())
        })?;
        Ok(RegisterScalableTargetResponse {
            scalable_target_arn: Some(arn),
        })
    }

    fn deregister_scalable_target(
        &self,
        ctx: &RequestContext,
        input: DeregisterScalableTargetRequest,
    ) -> Result<DeregisterScalableTargetResponse, ApiError> {
        let k = key(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        );
        self.write(ctx, |s, _| s.deregister(&k))?;
        Ok(DeregisterScalableTargetResponse {})
    }

    fn describe_scalable_targets(
        &self,
        ctx: &RequestContext,
        input: DescribeScalableTargetsRequest,
    ) -> Result<DescribeScalableTargetsResponse, ApiError> {
        let found = self.read(ctx, |s| {
            s.describe_targets(
                input.service_namespace.as_str(),
                &input.resource_ids.unwrap_or_default(),
                input
                    .scalable_dimension
                    .as_ref()
                    .map(ScalableDimension::as_str),
            )
        });
        let (targets, next_token) =
            PAGER.ordered_page(found, input.max_results, input.next_token.as_deref(), 50)?;
        Ok(DescribeScalableTargetsResponse {
            scalable_targets: Some(targets),
            next_token,
        })
    }

    fn put_scaling_policy(
        &self,
        ctx: &RequestContext,
        input: PutScalingPolicyRequest,
    ) -> Result<PutScalingPolicyResponse, ApiError> {
        let k = checked(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        )?;
        let kind = input.policy_type.clone().unwrap_or(PolicyType::StepScaling);
        let name = input.policy_name.clone();
        self.write(ctx, |s, now| s.put_policy(k, &name, kind, input, now))
    }

    fn delete_scaling_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteScalingPolicyRequest,
    ) -> Result<DeleteScalingPolicyResponse, ApiError> {
        let k = key(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        );
        self.write(ctx, |s, _| s.delete_policy(k, &input.policy_name))?;
        Ok(DeleteScalingPolicyResponse {})
    }

    fn describe_scaling_policies(
        &self,
        ctx: &RequestContext,
        input: DescribeScalingPoliciesRequest,
    ) -> Result<DescribeScalingPoliciesResponse, ApiError> {
        let names = input.policy_names.unwrap_or_default();
        let query = Query::of(
            &input.service_namespace,
            input.resource_id.as_deref(),
            input.scalable_dimension.as_ref(),
            &names,
        );
        let found = self.read(ctx, |s| s.describe_policies(&query));
        let (policies, next_token) =
            PAGER.ordered_page(found, input.max_results, input.next_token.as_deref(), 50)?;
        Ok(DescribeScalingPoliciesResponse {
            scaling_policies: Some(policies),
            next_token,
        })
    }

    fn put_scheduled_action(
        &self,
        ctx: &RequestContext,
        input: PutScheduledActionRequest,
    ) -> Result<PutScheduledActionResponse, ApiError> {
        let k = checked(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        )?;
        self.write(ctx, |s, now| s.put_scheduled_action(k, input, now))?;
        Ok(PutScheduledActionResponse {})
    }

    fn delete_scheduled_action(
        &self,
        ctx: &RequestContext,
        input: DeleteScheduledActionRequest,
    ) -> Result<DeleteScheduledActionResponse, ApiError> {
        let k = key(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        );
        self.write(ctx, |s, _| {
            s.delete_scheduled_action(k, &input.scheduled_action_name)
        })?;
        Ok(DeleteScheduledActionResponse {})
    }

    fn describe_scheduled_actions(
        &self,
        ctx: &RequestContext,
        input: DescribeScheduledActionsRequest,
    ) -> Result<DescribeScheduledActionsResponse, ApiError> {
        let names = input.scheduled_action_names.unwrap_or_default();
        let query = Query::of(
            &input.service_namespace,
            input.resource_id.as_deref(),
            input.scalable_dimension.as_ref(),
            &names,
        );
        let found = self.read(ctx, |s| s.describe_scheduled_actions(&query));
        let (actions, next_token) =
            PAGER.ordered_page(found, input.max_results, input.next_token.as_deref(), 50)?;
        Ok(DescribeScheduledActionsResponse {
            scheduled_actions: Some(actions),
            next_token,
        })
    }

    fn describe_scaling_activities(
        &self,
        ctx: &RequestContext,
        input: DescribeScalingActivitiesRequest,
    ) -> Result<DescribeScalingActivitiesResponse, ApiError> {
        let query = Query::of(
            &input.service_namespace,
            input.resource_id.as_deref(),
            input.scalable_dimension.as_ref(),
            &[],
        );
        let found = self.read(ctx, |s| s.describe_activities(&query));
        let (activities, next_token) =
            PAGER.ordered_page(found, input.max_results, input.next_token.as_deref(), 50)?;
        Ok(DescribeScalingActivitiesResponse {
            scaling_activities: Some(activities),
            next_token,
        })
    }

    fn get_predictive_scaling_forecast(
        &self,
        ctx: &RequestContext,
        input: GetPredictiveScalingForecastRequest,
    ) -> Result<GetPredictiveScalingForecastResponse, ApiError> {
        let k = key(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        );
        let names = [input.policy_name.clone()];
        let query = Query {
            namespace: &k.0,
            resource_id: Some(&k.1),
            dimension: Some(&k.2),
            names: &names,
        };
        let exists = self.read(ctx, |s| {
            s.describe_policies(&query)
                .iter()
                .any(|p| p.policy_type == PolicyType::PredictiveScaling)
        });
        if !exists {
            return Err(api_err!(
                application_autoscaling::ObjectNotFoundException,
                "No predictive scaling policy {} found",
                input.policy_name
            ));
        }
        // berth has no load history to forecast from: an empty forecast.
        Ok(GetPredictiveScalingForecastResponse {
            capacity_forecast: Some(CapacityForecast::default()),
            load_forecast: Some(Vec::new()),
            update_time: Some(Timestamp::now()),
        })
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        self.write(ctx, |s, _| s.tag(&input.resource_arn, input.tags))?;
        Ok(TagResourceResponse {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        self.write(ctx, |s, _| s.untag(&input.resource_arn, &input.tag_keys))?;
        Ok(UntagResourceResponse {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let tags = self.write(ctx, |s, _| s.tags(&input.resource_arn))?;
        Ok(ListTagsForResourceResponse { tags: Some(tags) })
    }
}
