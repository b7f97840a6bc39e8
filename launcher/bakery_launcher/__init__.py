"""bakery's launcher: serves any WSGI or ASGI app behind the load balancer.

python3 -m bakery_launcher --entrypoint module:attr --interface wsgi|asgi
"""
