from baton.errors import BatonError, Conflict, NotFound


class WebhookEndpointNotFound(NotFound):
    code = "webhook-endpoint-not-found"
    title = "Webhook endpoint not found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook-delivery-not-found"
    title = "Webhook delivery not found"


class WebhookTargetRefused(BatonError):
    code = "webhook-target-refused"
    status = 422
    title = "Webhooks cannot be sent to this URL"


class WebhookDeliveryNotReplayable(Conflict):
    code = "webhook-delivery-not-replayable"
    title = "Only a failed or dead delivery can be replayed"
