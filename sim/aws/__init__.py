"""Local stand-ins for the AWS parts: API Gateway with the authorizer, the IoT data plane,
IoT Core (mosquitto), certificates, and a development identity provider."""
