#!/bin/sh
# One image, two entry points. Lambda (and `sam local invoke`, whose emulator sets the runtime API)
# starts the runtime interface client with the handler; AWS Batch runs the job definition's command.
set -e
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec python -m awslambdaric "$@"
fi
if [ "$#" -eq 1 ] && [ "${1%.handler}" != "$1" ]; then
  echo "AWS_LAMBDA_RUNTIME_API is not set: run this image through Lambda, 'sam local invoke', or an emulator" >&2
  exit 64
fi
exec "$@"
