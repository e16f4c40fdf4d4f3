"""Local stand-ins for the AWS parts: API Gateway with the authorizer, the IoT data plane,
IoT Core (mosquitto), certificates, a development identity provider, and for video the IoT
credentials provider and KVS WebRTC signaling."""
