docker tag nosuch:latest foo:bar
