//! Listeners and their rules: the checks AWS makes of protocols, ports, actions (forward with
//! weighted target groups, fixed-response, redirect) and conditions, rule priorities,
//! certificates and SSL policies.

use super::routing;
use super::{
    Listener, Rule, State, attributes, invalid_config, listener_not_found, new_id, rule_not_found,
    validation,
};
use crate::api_err;
use crate::aws::ApiError;
use crate::wire::elbv2 as wire;
use wire::{ActionTypeEnum as ActionType, LoadBalancerTypeEnum as Kind, ProtocolEnum as Protocol};

/// AWS's quotas (per load balancer, per rule).
const MAX_LISTENERS: usize = 50;
const MAX_RULES: usize = 100;
const MAX_ACTIONS: usize = 5;
const MAX_TARGET_GROUPS_PER_ACTION_ALB: usize = 5;

/// The SSL policies berth knows (a subset of AWS's predefined ones); the first is the default.
pub(super) const SSL_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
];

const FIXED_CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

impl State {
    fn check_ssl(
        &self,
        protocol: &Protocol,
        certificates: &[wire::Certificate],
        ssl_policy: Option<&str>,
    ) -> Result<(), ApiError> {
        let secure = matches!(protocol, Protocol::Https | Protocol::Tls);
        if secure && certificates.is_empty() {
            return Err(validation(format!(
                "A certificate must be specified for {protocol} listeners"
            )));
        }
        if let Some(p) = ssl_policy
            && !SSL_POLICIES.contains(&p)
        {
            return Err(api_err!(
                elbv2::SSLPolicyNotFoundException,
                "SSL policy '{p}' not found"
            ));
        }
        Ok(())
    }

    /// The checks AWS makes of a listener's or rule's actions, and the actions as AWS echoes
    /// them (a single target group also as a ForwardConfig, orders filled in).
    pub(super) fn check_actions(
        &self,
        lb_arn: &str,
        listener_protocol: &Protocol,
        actions: Vec<wire::Action>,
    ) -> Result<Vec<wire::Action>, ApiError> {
        let lb = self.load_balancer(lb_arn)?;
        if actions.is_empty() {
            return Err(validation("At least one action must be specified"));
        }
        if actions.len() > MAX_ACTIONS {
            return Err(api_err!(
                elbv2::TooManyActionsException,
                "A rule or listener can have at most '{MAX_ACTIONS}' actions"
            ));
        }
        let mut out = Vec::new();
        let mut terminal = 0;
        for (i, mut a) in actions.into_iter().enumerate() {
            let order = a.order.unwrap_or(i as i32 + 1);
            if !(1..=50000).contains(&order) {
                return Err(validation(format!(
                    "Action order '{order}' must be between 1 and 50000"
                )));
            }
            a.order = Some(order);
            match &a.r#type {
                ActionType::Forward => {
                    terminal += 1;
                    a = self.check_forward(lb_arn, &lb.kind, listener_protocol, a)?;
                }
                ActionType::FixedResponse | ActionType::Redirect if lb.kind == Kind::Network => {
                    return Err(api_err!(
                        elbv2::InvalidLoadBalancerActionException,
                        "Action type '{}' is not supported for network load balancers",
                        a.r#type
                    ));
                }
                ActionType::FixedResponse => {
                    terminal += 1;
                    let f = a.fixed_response_config.as_ref().ok_or_else(|| {
                        validation(
                            "A fixed response config must be specified for fixed-response actions",
                        )
                    })?;
                    check_fixed(f)?;
                }
                ActionType::Redirect => {
                    terminal += 1;
                    let r = a.redirect_config.as_ref().ok_or_else(|| {
                        validation("A redirect config must be specified for redirect actions")
                    })?;
                    check_redirect(r)?;
                }
                other => {
                    return Err(api_err!(
                        elbv2::InvalidLoadBalancerActionException,
                        "berth does not support '{other}' actions"
                    ));
                }
            }
            out.push(a);
        }
        out.sort_by_key(|a| a.order);
        if terminal != 1 {
            return Err(api_err!(
                elbv2::InvalidLoadBalancerActionException,
                "Exactly one terminal action (forward, fixed-response or redirect) must be specified, and it must come last"
            ));
        }
        Ok(out)
    }

    fn check_forward(
        &self,
        lb_arn: &str,
        kind: &Kind,
        listener_protocol: &Protocol,
        mut a: wire::Action,
    ) -> Result<wire::Action, ApiError> {
        let mut groups: Vec<wire::TargetGroupTuple> = a
            .forward_config
            .as_ref()
            .and_then(|f| f.target_groups.clone())
            .unwrap_or_default();
        match (&a.target_group_arn, groups.len()) {
            (None, 0) => {
                return Err(validation(
                    "A target group ARN must be specified for forward actions",
                ));
            }
            (Some(arn), 0) => groups.push(wire::TargetGroupTuple {
                target_group_arn: Some(arn.clone()),
                weight: Some(1),
            }),
            (Some(arn), 1) if groups[0].target_group_arn.as_ref() == Some(arn) => {}
            (Some(_), _) => {
                return Err(validation(
                    "You cannot specify both a target group ARN and a forward config with other target groups",
                ));
            }
            (None, _) => {}
        }
        let max = if *kind == Kind::Network {
            1
        } else {
            MAX_TARGET_GROUPS_PER_ACTION_ALB
        };
        if groups.len() > max {
            return Err(api_err!(
                elbv2::TooManyTargetGroupsException,
                "A forward action can have at most '{max}' target groups"
            ));
        }
        for g in &mut groups {
            let arn = g.target_group_arn.as_deref().unwrap_or_default();
            let tg = self.target_group(arn)?;
            let w = g.weight.unwrap_or(1);
            if !(0..=999).contains(&w) {
                return Err(validation(format!(
                    "Target group weight '{w}' must be between 0 and 999"
                )));
            }
            g.weight = Some(w);
            let tg_protocol = tg.protocol.clone().unwrap_or(Protocol::Http);
            let compatible = match listener_protocol {
                Protocol::Http | Protocol::Https => {
                    matches!(tg_protocol, Protocol::Http | Protocol::Https)
                }
                Protocol::Tcp => matches!(tg_protocol, Protocol::Tcp | Protocol::TcpUdp),
                Protocol::Tls => matches!(tg_protocol, Protocol::Tcp | Protocol::Tls),
                Protocol::Udp => matches!(tg_protocol, Protocol::Udp | Protocol::TcpUdp),
                Protocol::TcpUdp => tg_protocol == Protocol::TcpUdp,
                _ => false,
            };
            if !compatible {
                return Err(api_err!(
                    elbv2::IncompatibleProtocolsException,
                    "Listener protocol '{listener_protocol}' is not supported with a target group with the protocol '{tg_protocol}'"
                ));
            }
            let others: Vec<String> = self
                .load_balancers_of(arn)
                .into_iter()
                .filter(|lb| lb != lb_arn)
                .collect();
            if !others.is_empty() {
                return Err(api_err!(
                    elbv2::TargetGroupAssociationLimitException,
                    "The following target groups cannot be associated with more than one load balancer: {arn}"
                ));
            }
        }
        if groups.len() == 1 {
            a.target_group_arn = groups[0].target_group_arn.clone();
        }
        let stickiness = a
            .forward_config
            .as_ref()
            .and_then(|f| f.target_group_stickiness_config.clone())
            .unwrap_or(wire::TargetGroupStickinessConfig {
                enabled: Some(false),
                duration_seconds: None,
            });
        if stickiness.enabled == Some(true)
            && !stickiness
                .duration_seconds
                .is_some_and(|d| (1..=604800).contains(&d))
        {
            return Err(validation(
                "Target group stickiness duration must be between 1 and 604800 seconds",
            ));
        }
        a.forward_config = Some(wire::ForwardActionConfig {
            target_groups: Some(groups),
            target_group_stickiness_config: Some(stickiness),
        });
        Ok(a)
    }

    pub(super) fn create_listener(
        &mut self,
        input: wire::CreateListenerInput,
    ) -> Result<wire::Listener, ApiError> {
        let lb = self.load_balancer(&input.load_balancer_arn)?;
        let network = lb.kind == Kind::Network;
        let protocol = input.protocol.clone().unwrap_or(if network {
            Protocol::Tcp
        } else {
            Protocol::Http
        });
        check_protocol(&lb.kind, &protocol)?;
        let port = input
            .port
            .ok_or_else(|| validation("A listener port must be specified"))?;
        if !(1..=65535).contains(&port) {
            return Err(validation(format!(
                "Listener port '{port}' must be between 1 and 65535"
            )));
        }
        let ours = self
            .listeners
            .values()
            .filter(|l| l.load_balancer_arn == input.load_balancer_arn);
        let mut count = 0;
        for l in ours {
            if l.port == port {
                return Err(api_err!(
                    elbv2::DuplicateListenerException,
                    "A listener already exists on this port for this load balancer '{}'",
                    input.load_balancer_arn
                ));
            }
            count += 1;
        }
        if count >= MAX_LISTENERS {
            return Err(api_err!(
                elbv2::TooManyListenersException,
                "You've reached the limit on the number of listeners per load balancer"
            ));
        }
        let certificates = input.certificates.clone().unwrap_or_default();
        self.check_ssl(&protocol, &certificates, input.ssl_policy.as_deref())?;
        super::tags_check(input.tags.as_deref().unwrap_or_default())?;
        let actions =
            self.check_actions(&input.load_balancer_arn, &protocol, input.default_actions)?;
        let lb_path = lb_path(&input.load_balancer_arn);
        let id = new_id();
        let arn = self.arn(&format!("listener/{lb_path}/{id}"));
        let default_rule_arn = self.arn(&format!("listener-rule/{lb_path}/{id}/{}", new_id()));
        let secure = matches!(protocol, Protocol::Https | Protocol::Tls);
        let listener = Listener {
            arn: arn.clone(),
            load_balancer_arn: input.load_balancer_arn,
            port,
            attributes: attributes::listener_defaults(&protocol),
            ssl_policy: secure.then(|| {
                input
                    .ssl_policy
                    .unwrap_or_else(|| SSL_POLICIES[0].to_owned())
            }),
            protocol,
            default_actions: actions,
            certificates: certificates
                .into_iter()
                .take(1)
                .map(|c| wire::Certificate {
                    certificate_arn: c.certificate_arn,
                    is_default: None,
                })
                .collect(),
            alpn_policy: input.alpn_policy,
            default_rule_arn,
            tags: input.tags.unwrap_or_default(),
        };
        let out = describe_listener(&listener);
        self.listeners.insert(arn, listener);
        self.changed();
        Ok(out)
    }

    pub(super) fn describe_listeners(
        &self,
        input: wire::DescribeListenersInput,
    ) -> Result<wire::DescribeListenersOutput, ApiError> {
        let mut found: Vec<&Listener> = Vec::new();
        match (&input.listener_arns, &input.load_balancer_arn) {
            (Some(arns), None) => {
                for arn in arns {
                    found.push(self.listener(arn)?);
                }
            }
            (None, Some(lb)) => {
                self.check_load_balancer(lb)?;
                found = self
                    .listeners
                    .values()
                    .filter(|l| &l.load_balancer_arn == lb)
                    .collect();
            }
            _ => {
                return Err(validation(
                    "You must specify either listener ARNs or a load balancer ARN",
                ));
            }
        }
        let page = super::page(
            found,
            |l| l.arn.clone(),
            input.page_size,
            input.marker.as_deref(),
        )?;
        Ok(wire::DescribeListenersOutput {
            listeners: Some(page.items.into_iter().map(describe_listener).collect()),
            next_marker: page.next_token,
        })
    }

    pub(super) fn modify_listener(
        &mut self,
        input: wire::ModifyListenerInput,
    ) -> Result<wire::Listener, ApiError> {
        let l = self.listener(&input.listener_arn)?;
        let lb_arn = l.load_balancer_arn.clone();
        let kind = self.load_balancer(&lb_arn)?.kind.clone();
        let protocol = input.protocol.clone().unwrap_or_else(|| l.protocol.clone());
        check_protocol(&kind, &protocol)?;
        let port = input.port.unwrap_or(l.port);
        if !(1..=65535).contains(&port) {
            return Err(validation(format!(
                "Listener port '{port}' must be between 1 and 65535"
            )));
        }
        if self
            .listeners
            .values()
            .any(|o| o.load_balancer_arn == lb_arn && o.port == port && o.arn != input.listener_arn)
        {
            return Err(api_err!(
                elbv2::DuplicateListenerException,
                "A listener already exists on this port for this load balancer '{lb_arn}'"
            ));
        }
        let certificates = match &input.certificates {
            Some(c) => c.clone(),
            None => l.certificates.clone(),
        };
        self.check_ssl(&protocol, &certificates, input.ssl_policy.as_deref())?;
        let actions = match input.default_actions {
            Some(a) => Some(self.check_actions(&lb_arn, &protocol, a)?),
            None => {
                // The existing actions must still suit a changed protocol.
                let current = l.default_actions.clone();
                self.check_actions(&lb_arn, &protocol, current)?;
                None
            }
        };
        let secure = matches!(protocol, Protocol::Https | Protocol::Tls);
        let l = self
            .listeners
            .get_mut(&input.listener_arn)
            .ok_or_else(|| listener_not_found(&input.listener_arn))?;
        if l.protocol != protocol {
            l.attributes = attributes::listener_defaults(&protocol);
        }
        l.protocol = protocol;
        l.port = port;
        if let Some(a) = actions {
            l.default_actions = a;
        }
        if input.certificates.is_some() {
            l.certificates = certificates.into_iter().take(1).collect();
        }
        l.ssl_policy = if secure {
            input
                .ssl_policy
                .or(l.ssl_policy.take())
                .or_else(|| Some(SSL_POLICIES[0].to_owned()))
        } else {
            None
        };
        if input.alpn_policy.is_some() {
            l.alpn_policy = input.alpn_policy;
        }
        let out = describe_listener(l);
        self.changed();
        Ok(out)
    }

    pub(super) fn delete_listener(&mut self, arn: &str) -> Result<(), ApiError> {
        self.listener(arn)?;
        self.listeners.remove(arn);
        self.rules.retain(|_, r| r.listener_arn != arn);
        self.changed();
        Ok(())
    }

    pub(super) fn listener_attributes(
        &self,
        arn: &str,
    ) -> Result<Vec<wire::ListenerAttribute>, ApiError> {
        Ok(self
            .listener(arn)?
            .attributes
            .iter()
            .map(|(k, v)| wire::ListenerAttribute {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect())
    }

    pub(super) fn modify_listener_attributes(
        &mut self,
        arn: &str,
        changes: Vec<wire::ListenerAttribute>,
    ) -> Result<Vec<wire::ListenerAttribute>, ApiError> {
        let l = self
            .listeners
            .get_mut(arn)
            .ok_or_else(|| listener_not_found(arn))?;
        let changes: Vec<_> = changes.into_iter().map(|a| (a.key, a.value)).collect();
        attributes::modify_listener(&l.protocol, &mut l.attributes, &changes)?;
        self.changed();
        self.listener_attributes(arn)
    }

    /// The listener's certificates: the default one and those added to its list.
    pub(super) fn listener_certificates(
        &self,
        arn: &str,
    ) -> Result<Vec<wire::Certificate>, ApiError> {
        let l = self.listener(arn)?;
        Ok(l.certificates
            .iter()
            .enumerate()
            .map(|(i, c)| wire::Certificate {
                certificate_arn: c.certificate_arn.clone(),
                is_default: Some(i == 0),
            })
            .collect())
    }

    pub(super) fn add_listener_certificates(
        &mut self,
        arn: &str,
        certificates: Vec<wire::Certificate>,
    ) -> Result<Vec<wire::Certificate>, ApiError> {
        let l = self
            .listeners
            .get_mut(arn)
            .ok_or_else(|| listener_not_found(arn))?;
        if !matches!(l.protocol, Protocol::Https | Protocol::Tls) {
            return Err(invalid_config(
                "Certificates can only be added to HTTPS and TLS listeners",
            ));
        }
        if l.certificates.len() + certificates.len() > 26 {
            return Err(api_err!(
                elbv2::TooManyCertificatesException,
                "A listener can have at most 25 certificates besides its default one"
            ));
        }
        for c in &certificates {
            if !l
                .certificates
                .iter()
                .any(|o| o.certificate_arn == c.certificate_arn)
            {
                l.certificates.push(wire::Certificate {
                    certificate_arn: c.certificate_arn.clone(),
                    is_default: None,
                });
            }
        }
        Ok(certificates
            .into_iter()
            .map(|c| wire::Certificate {
                certificate_arn: c.certificate_arn,
                is_default: Some(false),
            })
            .collect())
    }

    pub(super) fn remove_listener_certificates(
        &mut self,
        arn: &str,
        certificates: Vec<wire::Certificate>,
    ) -> Result<(), ApiError> {
        let l = self
            .listeners
            .get_mut(arn)
            .ok_or_else(|| listener_not_found(arn))?;
        for c in certificates {
            let at = l
                .certificates
                .iter()
                .position(|o| o.certificate_arn == c.certificate_arn);
            match at {
                Some(0) => {
                    return Err(api_err!(
                        elbv2::OperationNotPermittedException,
                        "The default certificate cannot be removed; use ModifyListener to replace it"
                    ));
                }
                Some(i) => {
                    l.certificates.remove(i);
                }
                None => {}
            }
        }
        Ok(())
    }

    pub(super) fn create_rule(
        &mut self,
        input: wire::CreateRuleInput,
    ) -> Result<wire::Rule, ApiError> {
        let l = self.listener(&input.listener_arn)?;
        let lb_arn = l.load_balancer_arn.clone();
        let protocol = l.protocol.clone();
        if attributes::is_network_protocol(&protocol) {
            return Err(invalid_config(
                "Rules cannot be added to network load balancer listeners",
            ));
        }
        check_priority(input.priority)?;
        if self
            .rules
            .values()
            .any(|r| r.listener_arn == input.listener_arn && r.priority == input.priority)
        {
            return Err(api_err!(
                elbv2::PriorityInUseException,
                "Priority '{}' is currently in use",
                input.priority
            ));
        }
        let on_lb = self
            .rules
            .values()
            .filter(|r| {
                self.listeners
                    .get(&r.listener_arn)
                    .is_some_and(|l| l.load_balancer_arn == lb_arn)
            })
            .count();
        if on_lb >= MAX_RULES {
            return Err(api_err!(
                elbv2::TooManyRulesException,
                "The maximum number of rules per load balancer has been reached"
            ));
        }
        let conditions = check_conditions(input.conditions)?;
        super::tags_check(input.tags.as_deref().unwrap_or_default())?;
        let actions = self.check_actions(&lb_arn, &protocol, input.actions)?;
        let listener_path = input
            .listener_arn
            .split_once(":listener/")
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        let arn = self.arn(&format!("listener-rule/{listener_path}/{}", new_id()));
        let rule = Rule {
            arn: arn.clone(),
            listener_arn: input.listener_arn,
            priority: input.priority,
            conditions,
            actions,
            tags: input.tags.unwrap_or_default(),
        };
        let out = describe_rule(&rule);
        self.rules.insert(arn, rule);
        self.changed();
        Ok(out)
    }

    pub(super) fn describe_rules(
        &self,
        input: wire::DescribeRulesInput,
    ) -> Result<wire::DescribeRulesOutput, ApiError> {
        let mut found: Vec<wire::Rule> = Vec::new();
        match (&input.rule_arns, &input.listener_arn) {
            (Some(arns), None) => {
                for arn in arns {
                    found.push(self.rule_wire(arn)?);
                }
            }
            (None, Some(listener)) => {
                let l = self.listener(listener)?;
                let mut rules: Vec<&Rule> = self
                    .rules
                    .values()
                    .filter(|r| &r.listener_arn == listener)
                    .collect();
                rules.sort_by_key(|r| r.priority);
                found = rules.into_iter().map(describe_rule).collect();
                found.push(default_rule(l));
            }
            _ => {
                return Err(validation(
                    "You must specify either listener ARN or rule ARNs",
                ));
            }
        }
        // Pages keep the priority order: the marker is an index.
        let start: usize = match &input.marker {
            Some(m) => m
                .parse()
                .map_err(|_| validation("Invalid value for 'Marker'"))?,
            None => 0,
        };
        let size = super::PAGER.size(input.page_size, super::PAGE_MAX, super::PAGE_MAX)?;
        let total = found.len();
        let items: Vec<wire::Rule> = found.into_iter().skip(start).take(size).collect();
        let next = (start + size < total).then(|| (start + size).to_string());
        Ok(wire::DescribeRulesOutput {
            rules: Some(items),
            next_marker: next,
        })
    }

    fn rule_wire(&self, arn: &str) -> Result<wire::Rule, ApiError> {
        if let Some(r) = self.rules.get(arn) {
            return Ok(describe_rule(r));
        }
        self.listeners
            .values()
            .find(|l| l.default_rule_arn == arn)
            .map(default_rule)
            .ok_or_else(|| rule_not_found(arn))
    }

    pub(super) fn modify_rule(
        &mut self,
        input: wire::ModifyRuleInput,
    ) -> Result<wire::Rule, ApiError> {
        let (listener_arn, lb_arn, protocol) = match self.rules.get(&input.rule_arn) {
            Some(r) => {
                let l = self.listener(&r.listener_arn)?;
                (
                    l.arn.clone(),
                    l.load_balancer_arn.clone(),
                    l.protocol.clone(),
                )
            }
            None => {
                // The default rule is modified through its listener's default actions.
                let l = self
                    .listeners
                    .values()
                    .find(|l| l.default_rule_arn == input.rule_arn)
                    .ok_or_else(|| rule_not_found(&input.rule_arn))?;
                if input.conditions.is_some() {
                    return Err(api_err!(
                        elbv2::OperationNotPermittedException,
                        "Conditions cannot be set on a default rule"
                    ));
                }
                let arn = l.arn.clone();
                if let Some(actions) = input.actions {
                    let lb_arn = l.load_balancer_arn.clone();
                    let protocol = l.protocol.clone();
                    let actions = self.check_actions(&lb_arn, &protocol, actions)?;
                    if let Some(l) = self.listeners.get_mut(&arn) {
                        l.default_actions = actions;
                    }
                    self.changed();
                }
                return self.rule_wire(&input.rule_arn);
            }
        };
        let _ = listener_arn;
        let conditions = input.conditions.map(check_conditions).transpose()?;
        let actions = input
            .actions
            .map(|a| self.check_actions(&lb_arn, &protocol, a))
            .transpose()?;
        let r = self
            .rules
            .get_mut(&input.rule_arn)
            .ok_or_else(|| rule_not_found(&input.rule_arn))?;
        if let Some(c) = conditions {
            r.conditions = c;
        }
        if let Some(a) = actions {
            r.actions = a;
        }
        let out = describe_rule(r);
        self.changed();
        Ok(out)
    }

    pub(super) fn delete_rule(&mut self, arn: &str) -> Result<(), ApiError> {
        if self.rules.remove(arn).is_some() {
            self.changed();
            return Ok(());
        }
        if self.listeners.values().any(|l| l.default_rule_arn == arn) {
            return Err(api_err!(
                elbv2::OperationNotPermittedException,
                "Default rule '{arn}' cannot be deleted"
            ));
        }
        Err(rule_not_found(arn))
    }

    pub(super) fn set_rule_priorities(
        &mut self,
        pairs: Vec<wire::RulePriorityPair>,
    ) -> Result<Vec<wire::Rule>, ApiError> {
        let mut changes = Vec::new();
        for p in &pairs {
            let arn = p.rule_arn.clone().unwrap_or_default();
            let priority = p
                .priority
                .ok_or_else(|| validation("A priority must be specified for each rule"))?;
            check_priority(priority)?;
            if !self.rules.contains_key(&arn) {
                if self.listeners.values().any(|l| l.default_rule_arn == arn) {
                    return Err(api_err!(
                        elbv2::OperationNotPermittedException,
                        "Default rule '{arn}' priority cannot be modified"
                    ));
                }
                return Err(rule_not_found(&arn));
            }
            changes.push((arn, priority));
        }
        // The priorities after every change must be unique within each listener.
        let mut after: Vec<(String, i32)> = self
            .rules
            .values()
            .map(|r| {
                let p = changes
                    .iter()
                    .find(|(a, _)| *a == r.arn)
                    .map_or(r.priority, |(_, p)| *p);
                (r.listener_arn.clone(), p)
            })
            .collect();
        after.sort();
        if let Some(w) = after.windows(2).find(|w| w[0] == w[1]) {
            return Err(api_err!(
                elbv2::PriorityInUseException,
                "Priority '{}' is currently in use",
                w[0].1
            ));
        }
        for (arn, p) in &changes {
            if let Some(r) = self.rules.get_mut(arn) {
                r.priority = *p;
            }
        }
        self.changed();
        Ok(changes
            .iter()
            .filter_map(|(arn, _)| self.rules.get(arn).map(describe_rule))
            .collect())
    }
}

fn check_protocol(kind: &Kind, protocol: &Protocol) -> Result<(), ApiError> {
    let ok = if *kind == Kind::Network {
        attributes::is_network_protocol(protocol)
    } else {
        matches!(protocol, Protocol::Http | Protocol::Https)
    };
    if !ok {
        return Err(api_err!(
            elbv2::UnsupportedProtocolException,
            "Protocol '{protocol}' is not supported for {kind} load balancers"
        ));
    }
    Ok(())
}

fn check_priority(priority: i32) -> Result<(), ApiError> {
    if !(1..=50000).contains(&priority) {
        return Err(validation(format!(
            "1 validation error detected: Value '{priority}' at 'priority' failed to satisfy constraint: Member must have value between 1 and 50000"
        )));
    }
    Ok(())
}

fn check_fixed(f: &wire::FixedResponseActionConfig) -> Result<(), ApiError> {
    let code = &f.status_code;
    let ok = code.len() == 3
        && matches!(code.as_bytes()[0], b'2' | b'4' | b'5')
        && code.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(validation(format!(
            "Fixed response status code '{code}' must be a 2XX, 4XX or 5XX code"
        )));
    }
    if let Some(t) = &f.content_type
        && !FIXED_CONTENT_TYPES.contains(&t.as_str())
    {
        return Err(validation(format!(
            "Fixed response content type '{t}' must be one of [{}]",
            FIXED_CONTENT_TYPES.join(", ")
        )));
    }
    if f.message_body.as_ref().is_some_and(|b| b.len() > 1024) {
        return Err(validation(
            "Fixed response message body can be at most 1024 characters",
        ));
    }
    Ok(())
}

fn check_redirect(r: &wire::RedirectActionConfig) -> Result<(), ApiError> {
    if !r.status_code.is_known() {
        return Err(validation(format!(
            "Redirect status code '{}' must be HTTP_301 or HTTP_302",
            r.status_code
        )));
    }
    if let Some(p) = &r.protocol
        && !matches!(p.as_str(), "HTTP" | "HTTPS" | "#{protocol}")
    {
        return Err(validation(format!(
            "Redirect protocol '{p}' must be HTTP, HTTPS or #{{protocol}}"
        )));
    }
    if let Some(p) = &r.port
        && p != "#{port}"
        && !p.parse::<u16>().is_ok_and(|n| n > 0)
    {
        return Err(validation(format!(
            "Redirect port '{p}' must be between 1 and 65535 or #{{port}}"
        )));
    }
    if let Some(p) = &r.path
        && !p.starts_with('/')
    {
        return Err(validation("Redirect path must start with a '/'"));
    }
    if r.query.as_ref().is_some_and(|q| q.starts_with('?')) {
        return Err(validation("Redirect query must not start with '?'"));
    }
    let unchanged = |v: &Option<String>, default: &str| v.as_deref().is_none_or(|v| v == default);
    if unchanged(&r.protocol, "#{protocol}")
        && unchanged(&r.host, "#{host}")
        && unchanged(&r.port, "#{port}")
        && unchanged(&r.path, "/#{path}")
        && unchanged(&r.query, "#{query}")
    {
        return Err(api_err!(
            elbv2::InvalidLoadBalancerActionException,
            "The redirect configuration is not valid: it would redirect to the same URL (a loop)"
        ));
    }
    Ok(())
}

/// The checks AWS makes of a rule's conditions (compiled by `routing`, which matches them),
/// and the conditions as AWS echoes them: host-header and path-pattern with their values in
/// both the legacy `Values` and the config.
fn check_conditions(
    conditions: Vec<wire::RuleCondition>,
) -> Result<Vec<wire::RuleCondition>, ApiError> {
    if conditions.is_empty() {
        return Err(validation("A rule must have at least one condition"));
    }
    let mut values = 0;
    let mut wildcards = 0;
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for mut c in conditions {
        let compiled = routing::compile_condition(&c).map_err(validation)?;
        let field = c.field.clone().unwrap_or_default();
        if !matches!(field.as_str(), "http-header" | "query-string") {
            if seen.contains(&field) {
                return Err(validation(format!(
                    "A rule can only have one '{field}' condition"
                )));
            }
            seen.push(field.clone());
        }
        values += compiled.value_count();
        wildcards += compiled.wildcard_count();
        match field.as_str() {
            "host-header" => {
                let v = c
                    .host_header_config
                    .as_ref()
                    .and_then(|h| h.values.clone())
                    .or(c.values.clone());
                c.values = v.clone();
                c.host_header_config = Some(wire::HostHeaderConditionConfig {
                    values: v,
                    regex_values: None,
                });
            }
            "path-pattern" => {
                let v = c
                    .path_pattern_config
                    .as_ref()
                    .and_then(|h| h.values.clone())
                    .or(c.values.clone());
                c.values = v.clone();
                c.path_pattern_config = Some(wire::PathPatternConditionConfig {
                    values: v,
                    regex_values: None,
                });
            }
            _ => {}
        }
        out.push(c);
    }
    if values > 5 {
        return Err(validation(format!(
            "A rule can only have '5' condition values, but it has '{values}'"
        )));
    }
    if wildcards > 5 {
        return Err(validation(format!(
            "A rule can only have '5' wildcards, but it has '{wildcards}'"
        )));
    }
    Ok(out)
}

/// `app/<name>/<id>` of a load balancer ARN, which its listeners' and rules' ARNs carry.
fn lb_path(lb_arn: &str) -> String {
    lb_arn
        .split_once(":loadbalancer/")
        .map(|(_, p)| p.to_owned())
        .unwrap_or_default()
}

fn describe_listener(l: &Listener) -> wire::Listener {
    wire::Listener {
        alpn_policy: l.alpn_policy.clone(),
        certificates: (!l.certificates.is_empty()).then(|| {
            l.certificates
                .iter()
                .take(1)
                .map(|c| wire::Certificate {
                    certificate_arn: c.certificate_arn.clone(),
                    is_default: None,
                })
                .collect()
        }),
        default_actions: Some(l.default_actions.clone()),
        listener_arn: Some(l.arn.clone()),
        load_balancer_arn: Some(l.load_balancer_arn.clone()),
        mutual_authentication: None,
        port: Some(l.port),
        protocol: Some(l.protocol.clone()),
        ssl_policy: l.ssl_policy.clone(),
    }
}

fn describe_rule(r: &Rule) -> wire::Rule {
    wire::Rule {
        actions: Some(r.actions.clone()),
        conditions: Some(r.conditions.clone()),
        is_default: Some(false),
        priority: Some(r.priority.to_string()),
        rule_arn: Some(r.arn.clone()),
        transforms: None,
    }
}

fn default_rule(l: &Listener) -> wire::Rule {
    wire::Rule {
        actions: Some(l.default_actions.clone()),
        conditions: Some(Vec::new()),
        is_default: Some(true),
        priority: Some("default".into()),
        rule_arn: Some(l.default_rule_arn.clone()),
        transforms: None,
    }
}
