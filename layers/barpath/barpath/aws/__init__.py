"""AWS adapters: S3, SNS, DynamoDB idempotency and Batch around the core pipeline.

Nothing here imports OpenCV or numpy at module level: the failure notifier runs from the zip layer,
which ships without them. The pipeline is imported lazily, only where a video is actually processed.
"""
