//! CloudWatch Logs (JSON 1.1, `Logs_20140328`): log groups and streams, PutLogEvents,
//! GetLogEvents, FilterLogEvents, retention and tags. Each method takes the region's logs under
//! the lock and calls the rules in `services::logs`.

use crate::aws::now_millis;
use crate::aws::{ApiError, Empty, RequestContext};
use crate::services::Handler;
use crate::services::logs::State;
use crate::store::Store;
use crate::wire::logs::*;

pub struct Logs {
    store: Store,
}

impl Logs {
    fn read<R>(&self, ctx: &RequestContext, f: impl FnOnce(&State) -> R) -> R {
        self.store.read(&ctx.region, f)
    }

    fn write<R>(&self, ctx: &RequestContext, f: impl FnOnce(&mut State) -> R) -> R {
        self.store.write(&ctx.region, f)
    }
}

impl Handler for Logs {
    fn new(store: &Store) -> Self {
        Logs {
            store: store.clone(),
        }
    }
}

impl Api for Logs {
    fn create_log_group(
        &self,
        ctx: &RequestContext,
        input: CreateLogGroupRequest,
    ) -> Result<Empty, ApiError> {
        let now = now_millis();
        self.write(ctx, |l| l.create_group(input, now))?;
        Ok(Empty {})
    }

    fn delete_log_group(
        &self,
        ctx: &RequestContext,
        input: DeleteLogGroupRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| l.delete_group(&input.log_group_name))?;
        Ok(Empty {})
    }

    fn describe_log_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeLogGroupsRequest,
    ) -> Result<DescribeLogGroupsResponse, ApiError> {
        self.read(ctx, |l| l.describe_groups(input))
    }

    fn list_log_groups(
        &self,
        ctx: &RequestContext,
        input: ListLogGroupsRequest,
    ) -> Result<ListLogGroupsResponse, ApiError> {
        self.read(ctx, |l| l.list_groups(input))
    }

    fn put_log_group_deletion_protection(
        &self,
        ctx: &RequestContext,
        input: PutLogGroupDeletionProtectionRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| {
            l.put_deletion_protection(
                &input.log_group_identifier,
                input.deletion_protection_enabled,
            )
        })?;
        Ok(Empty {})
    }

    fn put_retention_policy(
        &self,
        ctx: &RequestContext,
        input: PutRetentionPolicyRequest,
    ) -> Result<Empty, ApiError> {
        let now = now_millis();
        self.write(ctx, |l| {
            l.put_retention(&input.log_group_name, input.retention_in_days, now)
        })?;
        Ok(Empty {})
    }

    fn delete_retention_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRetentionPolicyRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| l.delete_retention(&input.log_group_name))?;
        Ok(Empty {})
    }

    fn create_log_stream(
        &self,
        ctx: &RequestContext,
        input: CreateLogStreamRequest,
    ) -> Result<Empty, ApiError> {
        let now = now_millis();
        self.write(ctx, |l| {
            l.create_stream(&input.log_group_name, &input.log_stream_name, now)
        })?;
        Ok(Empty {})
    }

    fn delete_log_stream(
        &self,
        ctx: &RequestContext,
        input: DeleteLogStreamRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| {
            l.delete_stream(&input.log_group_name, &input.log_stream_name)
        })?;
        Ok(Empty {})
    }

    fn describe_log_streams(
        &self,
        ctx: &RequestContext,
        input: DescribeLogStreamsRequest,
    ) -> Result<DescribeLogStreamsResponse, ApiError> {
        self.read(ctx, |l| l.describe_streams(input))
    }

    fn put_log_events(
        &self,
        ctx: &RequestContext,
        input: PutLogEventsRequest,
    ) -> Result<PutLogEventsResponse, ApiError> {
        let now = now_millis();
        self.write(ctx, |l| l.put_events(input, now))
    }

    fn get_log_events(
        &self,
        ctx: &RequestContext,
        input: GetLogEventsRequest,
    ) -> Result<GetLogEventsResponse, ApiError> {
        let now = now_millis();
        self.read(ctx, |l| l.get_events(input, now))
    }

    fn filter_log_events(
        &self,
        ctx: &RequestContext,
        input: FilterLogEventsRequest,
    ) -> Result<FilterLogEventsResponse, ApiError> {
        let now = now_millis();
        self.read(ctx, |l| l.filter_events(input, now))
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| l.tag_resource(&input.resource_arn, input.tags))?;
        Ok(Empty {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| {
            l.untag_resource(&input.resource_arn, &input.tag_keys)
        })?;
        Ok(Empty {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let tags = self.read(ctx, |l| l.list_tags_for_resource(&input.resource_arn))?;
        Ok(ListTagsForResourceResponse { tags: Some(tags) })
    }

    fn tag_log_group(
        &self,
        ctx: &RequestContext,
        input: TagLogGroupRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| l.tag_group(&input.log_group_name, input.tags))?;
        Ok(Empty {})
    }

    fn untag_log_group(
        &self,
        ctx: &RequestContext,
        input: UntagLogGroupRequest,
    ) -> Result<Empty, ApiError> {
        self.write(ctx, |l| l.untag_group(&input.log_group_name, &input.tags))?;
        Ok(Empty {})
    }

    fn list_tags_log_group(
        &self,
        ctx: &RequestContext,
        input: ListTagsLogGroupRequest,
    ) -> Result<ListTagsLogGroupResponse, ApiError> {
        let tags = self.read(ctx, |l| l.list_tags_group(&input.log_group_name))?;
        Ok(ListTagsLogGroupResponse { tags: Some(tags) })
    }
}
