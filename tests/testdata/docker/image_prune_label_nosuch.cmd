docker image prune -f --filter label=nosuch
