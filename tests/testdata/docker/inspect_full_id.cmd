docker image inspect --format '{{.Id}}' sha256:f5455b23f29e9985b981376b482a83f8bcc28b4a1ba71d9baa5b3f79bb80bf8e
