from seaway.service import Bucket, Queue, Service, Table, Topic, callers_of, discover, resource_env, url_env


def test_resource_environment_variables_follow_one_rule():
    assert resource_env(Table("products", hash_key="id")) == "PRODUCTS_TABLE"
    assert resource_env(Topic("order-events")) == "ORDER_EVENTS_TOPIC_ARN"
    assert resource_env(Queue("fulfillment")) == "FULFILLMENT_QUEUE_URL"
    assert resource_env(Bucket("receipts")) == "RECEIPTS_BUCKET"
    assert url_env("catalog") == "CATALOG_URL"


def test_the_declared_services_call_only_declared_services_on_ports_of_their_own():
    services = discover()
    assert {"gateway", "catalog", "orders", "fulfillment"} <= set(services)
    for service in services.values():
        assert set(service.calls) <= set(services), service.name
    assert len({service.port for service in services.values()}) == len(services)


def test_a_call_declared_by_the_caller_alone_lets_it_through():
    services = {
        "catalog": Service(name="catalog", app="c:app", port=1, callers=("gateway",)),
        "gateway": Service(name="gateway", app="g:app", port=2, calls=("catalog",), callers=("ingress",)),
        "inventory": Service(name="inventory", app="i:app", port=3, calls=("catalog",)),
    }
    assert callers_of("catalog", services) == ("gateway", "inventory")
    assert callers_of("gateway", services) == ("ingress",)
    assert callers_of("inventory", services) == ()


def test_every_queue_subscribes_to_a_declared_topic():
    topics = {r.name for s in discover().values() for r in s.resources if isinstance(r, Topic)}
    queues = [r for s in discover().values() for r in s.resources if isinstance(r, Queue)]
    assert queues and all(queue.topic in topics for queue in queues)


def test_restricted_paths_may_only_name_callers_of_the_service():
    import pytest

    from seaway.service import RestrictedPaths, Service

    with pytest.raises(ValueError, match="not among its callers"):
        Service(
            name="x",
            app="x:app",
            port=1,
            callers=("gateway",),
            restricted_paths=(RestrictedPaths(paths=("/internal/*",), callers=("fulfillment",)),),
        )
