"""
moto in server mode for the deploy smoke test (test/deploy/deploy.test.ts), with three additions
moto 5.2.1 lacks and this deployment needs; everything else is moto as released:
1. the CloudFormation action UpdateTerminationProtection, which `cdk deploy` calls because the
   stateful stack is termination-protected;
2. AWS::SecretsManager::Secret as a CloudFormation resource (moto creates secrets through the
   Secrets Manager API but skips them in templates, and an output referencing a skipped resource
   drops every output, so no export would exist for the stateless stack to import). The secret is
   created in moto's Secrets Manager with the template's description and key; Ref is its ARN.
3. AWS::CloudWatch::Alarm as a CloudFormation resource, for the same reason (the dashboard's
   alarm widget reads each alarm's ARN): created with moto's PutMetricAlarm from the template's
   properties; Ref is its name, Arn its ARN.
Resource types moto still skips (it logs "No Moto CloudFormation support for …") are listed by
the test from this server's log, so what was not deployed is said, not hidden.
Usage: python3 test/deploy/moto_server.py -H 127.0.0.1 -p PORT
"""
import json
import sys

from moto.cloudformation.responses import CloudFormationResponse
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.cloudwatch.models import cloudwatch_backends
from moto.secretsmanager.models import secretsmanager_backends


def update_termination_protection(self):
    name = self._get_param("StackName")
    enabled = self._get_bool_param("EnableTerminationProtection")
    (stack,) = self.cloudformation_backend.describe_stacks(name)
    stack.enable_termination_protection = bool(enabled)
    return ActionResult({"StackId": stack.stack_id})


class TemplateSecret(CloudFormationModel):
    # moto files every model under the service its module names.
    __module__ = "moto.secretsmanager.template_secret"

    def __init__(self, arn: str):
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=resource_name,
            secret_string=None,
            secret_binary=None,
            description=properties.get("Description"),
            tags=[],
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])


class TemplateAlarm(CloudFormationModel):
    __module__ = "moto.cloudwatch.template_alarm"

    def __init__(self, alarm):
        self.alarm = alarm

    @property
    def physical_resource_id(self) -> str:
        return self.alarm.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.alarm.alarm_arn
        raise KeyError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=int(p.get("EvaluationPeriods")),
            period=int(p.get("Period")),
            threshold=float(p.get("Threshold")),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm)


if not hasattr(CloudFormationResponse, "update_termination_protection"):
    CloudFormationResponse.update_termination_protection = update_termination_protection

from moto.server import main  # noqa: E402  (after the patch, so the server serves it)

sys.exit(main())
