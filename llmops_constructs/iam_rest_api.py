"""A REST API whose every method needs a SigV4-signed caller, with validation, throttling and logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge, acknowledge_all, skip_checkov
from llmops_constructs.removal import removal_policy

STAGE = "v1"


class IamRestApi(Construct):
    """Regional REST API, IAM authorization on every method, one Lambda proxy integration.

    Request bodies are checked against JSON-schema models and path parameters are required
    before the function runs; the stage throttles, traces with X-Ray and writes JSON access
    logs to a KMS-encrypted log group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        function: lambda_.IFunction,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        throttle_rate_limit: int,
        throttle_burst_limit: int,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", encryption_key=log_key, retention=log_retention, removal_policy=removal_policy(retain)
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            description=description,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=removal_policy(retain),
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        self._json_errors()
        self.integration = apigw.LambdaIntegration(function, proxy=True)
        self.validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        self._acknowledge()

    def _json_errors(self) -> None:
        """API Gateway's own errors (validation, auth, throttling) in the API's ``{code, message}`` shape.

        ``messageString`` is API Gateway's JSON-quoted message, so the body is valid JSON whatever
        the message says; the response type (``ACCESS_DENIED``, ``THROTTLED``, ...) is the code.
        """
        for construct_id, response_type, code in (
            ("BadRequestBody", apigw.ResponseType.BAD_REQUEST_BODY, "InvalidRequest"),
            ("BadRequestParameters", apigw.ResponseType.BAD_REQUEST_PARAMETERS, "InvalidRequest"),
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX, "$context.error.responseType"),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX, "$context.error.responseType"),
        ):
            self.api.add_gateway_response(
                construct_id,
                type=response_type,
                templates={"application/json": f'{{"code": "{code}", "message": $context.error.messageString}}'},
            )

    def resource(self, path: str) -> apigw.IResource:
        """``/prompts/{name}`` -> the (created on demand) resource for that path."""
        resource: apigw.IResource = self.api.root
        for part in path.strip("/").split("/"):
            resource = resource.get_resource(part) or resource.add_resource(part)
        return resource

    def route(
        self, method: str, path: str, *, body_schema: Mapping[str, Any] | None = None, query: tuple[str, ...] = ()
    ) -> apigw.Method:
        """Add ``method path`` with its path parameters (and ``query``) required, the body validated."""
        parameters = {f"method.request.path.{p.strip('{}')}": True for p in path.split("/") if p.startswith("{")}
        parameters.update({f"method.request.querystring.{q}": False for q in query})
        models = None
        if body_schema is not None:
            model_id = "".join(part.strip("{}").capitalize() for part in path.split("/")) + method.capitalize()
            models = {
                "application/json": self.api.add_model(
                    model_id,
                    content_type="application/json",
                    schema=apigw.JsonSchema(**_schema(body_schema)),
                )
            }
        added = self.resource(path).add_method(
            method,
            self.integration,
            request_validator=self.validator,
            request_parameters=parameters or None,
            request_models=models,
        )
        acknowledge(
            added,
            "AwsSolutions::AwsSolutions-COG4",
            "The method uses IAM (SigV4) authorization: callers are IAM principals such as the CLI and "
            "platform services, not Cognito users",
        )
        return added

    def _acknowledge(self) -> None:
        stage = self.api.deployment_stage
        acknowledge_all(
            stage,
            ["AwsSolutions::AwsSolutions-APIG3", "NIST.800.53.R5::NIST.800.53.R5-APIGWAssociatedWithWAF"],
            "Every method requires a SigV4-signed IAM caller, so anonymous traffic is refused before any "
            "integration runs; the stage also throttles. A WAF web ACL can be attached per deployment",
        )
        no_cache = "Caching is off: responses depend on the caller and on aliases that move, so no cache holds data"
        acknowledge_all(
            stage,
            [
                "NIST.800.53.R5::NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
                "HIPAA.Security::HIPAA.Security-APIGWCacheEnabledAndEncrypted",
            ],
            no_cache,
        )
        acknowledge_all(
            stage,
            ["NIST.800.53.R5::NIST.800.53.R5-APIGWSSLEnabled", "HIPAA.Security::HIPAA.Security-APIGWSSLEnabled"],
            "The only integration is an AWS Lambda proxy, not an HTTP backend that could check a client certificate",
        )
        skip_checkov(stage.node.default_child, "CKV_AWS_120", no_cache)  # type: ignore[arg-type]
        role = self.api.node.try_find_child("CloudWatchRole")
        if role is not None:
            acknowledge(
                role,
                "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "API Gateway's account-wide logging role; AWS maintains exactly the permissions log delivery needs",
            )


def _schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON schema as ``apigw.JsonSchema`` keyword arguments (properties recursively)."""
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            converted["type"] = apigw.JsonSchemaType(value.upper())
        elif key == "properties":
            converted["properties"] = {name: apigw.JsonSchema(**_schema(sub)) for name, sub in value.items()}
        elif key == "additionalProperties":
            converted["additional_properties"] = value
        elif key == "required":
            converted["required"] = list(value)
        elif key in ("minimum", "maximum", "min_length", "max_length"):
            converted[key] = value
        else:
            raise ValueError(f"unsupported JSON schema keyword {key!r}")
    return converted
