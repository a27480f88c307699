//! ECS → CloudWatch Logs: the `awslogs` log driver. The executor opens a container's stream
//! before it starts and sends its output here, line by line, as the driver would.

use crate::aws::now_millis;
use crate::executor::LogSink;
use crate::services::logs;
use crate::store::Store;

/// Where the executor's `awslogs` output goes: CloudWatch Logs of the task's region (or of the
/// `awslogs-region` option).
pub struct AwsLogs {
    store: Store,
}

impl AwsLogs {
    pub fn new(store: Store) -> Self {
        AwsLogs { store }
    }
}

impl LogSink for AwsLogs {
    fn open(
        &self,
        region: &str,
        group: &str,
        stream: &str,
        create_group: bool,
    ) -> Result<(), String> {
        let now = now_millis();
        self.store.write(region, |l: &mut logs::State| {
            l.open_for_driver(group, stream, create_group, now)
        })
    }

    fn put(&self, region: &str, group: &str, stream: &str, events: Vec<(i64, String)>) {
        let now = now_millis();
        self.store.write(region, |l: &mut logs::State| {
            l.put_from_driver(group, stream, events, now)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::logs::GetLogEventsRequest;

    fn messages(store: &Store, region: &str) -> Result<Vec<String>, String> {
        let request = GetLogEventsRequest {
            log_group_name: Some("/ecs/x".into()),
            log_stream_name: "s".into(),
            ..Default::default()
        };
        store
            .read(region, |l: &logs::State| {
                l.get_events(request, now_millis())
            })
            .map(|r| {
                r.events
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.message)
                    .collect()
            })
            .map_err(|e| e.code.into_owned())
    }

    #[test]
    fn container_output_lands_in_the_tasks_region() {
        let store = Store::new("000000000000".into(), Vec::new());
        let sink = AwsLogs::new(store.clone());
        // Without awslogs-create-group the group must exist, as with the real driver.
        assert!(sink.open("eu-west-1", "/ecs/x", "s", false).is_err());
        sink.open("eu-west-1", "/ecs/x", "s", true).expect("open");
        sink.put(
            "eu-west-1",
            "/ecs/x",
            "s",
            vec![(now_millis(), "hello".into())],
        );
        assert_eq!(messages(&store, "eu-west-1"), Ok(vec!["hello".to_owned()]));
        // Another region is another CloudWatch Logs.
        assert_eq!(
            messages(&store, "us-east-1"),
            Err("ResourceNotFoundException".to_owned())
        );
    }
}
