cd x-oci && m=$(jq -r '.manifests[0].digest' index.json | cut -d: -f2) && cat blobs/sha256/$m
